// cpp-httplib's Server with our own connection loop (its process_and_close_socket, a virtual
// member meant for subclasses), for three things the Debian build (0.11) lacks:
//  - a deadline for a whole request: its read timeout bounds each silence, so a client that sends
//    one header byte a second would otherwise hold a connection (and a worker) forever;
//  - HTTP/1.1 pipelining: one read buffer per connection, so requests that arrived back to back
//    are all answered in order (0.11 drops what its per-request buffer read ahead, issue 1271);
//  - telling a handler that its client went away (peer_closed()), so a non-streaming request
//    whose client disconnected can be cancelled.
// Everything else (parsing, routing, limits, writing) is cpp-httplib's own process_request.
#pragma once

#include <httplib.h>

#include <array>
#include <atomic>
#include <chrono>
#include <cstddef>
#include <string>

namespace r1vk::serve::http {

// One accepted socket, read through a buffer that lives as long as the connection. Reads fail
// once the current request's deadline has passed (or after read_timeout of silence); writes
// fail after write_timeout without progress.
class ConnectionStream final : public httplib::Stream {
 public:
  using Clock = std::chrono::steady_clock;
  // `listener`: the server's listening socket; once it is closed (the server stops), reads fail
  // at once instead of waiting out a slow client's read timeout and request deadline.
  ConnectionStream(socket_t sock, std::chrono::milliseconds read_timeout, std::chrono::milliseconds write_timeout,
                   const std::atomic<socket_t>* listener = nullptr)
      : sock_(sock), read_timeout_(read_timeout), write_timeout_(write_timeout), listener_(listener) {}

  bool is_readable() const override;
  bool is_writable() const override;
  ssize_t read(char* ptr, size_t size) override;
  ssize_t write(const char* ptr, size_t size) override;
  void get_remote_ip_and_port(std::string& ip, int& port) const override;
  void get_local_ip_and_port(std::string& ip, int& port) const override;
  socket_t socket() const override { return sock_; }

  // Reads after `deadline` fail; Clock::time_point::max() lifts it. Clears timed_out().
  void set_deadline(Clock::time_point deadline) {
    deadline_ = deadline;
    timed_out_ = false;
  }
  // Whether a read failed because the client was silent too long or the deadline passed (so a
  // request that could not be parsed is answered 408 rather than 400).
  bool timed_out() const { return timed_out_; }
  // Whether bytes of a next request are buffered already (pipelining).
  bool has_buffered() const { return offset_ < size_; }
  // True when the client has closed its end (or the socket failed). Never blocks; unread bytes
  // of a pipelined request do not count as closed.
  bool peer_closed() const;

 private:
  // Waits until the socket is readable, at most the read timeout, never past the deadline, and
  // not after the listener closed.
  bool wait_readable() const;

  socket_t sock_;
  std::chrono::milliseconds read_timeout_, write_timeout_;
  const std::atomic<socket_t>* listener_;
  Clock::time_point deadline_ = Clock::time_point::max();
  bool timed_out_ = false;
  std::array<char, 4096> buffer_{};
  size_t offset_ = 0, size_ = 0;
};

struct ConnectionLimits {
  std::chrono::milliseconds read_timeout{10000};     // longest silence while a request arrives
  std::chrono::milliseconds write_timeout{10000};    // longest stall while the client reads
  std::chrono::milliseconds request_timeout{30000};  // the whole request (line, headers, body)
  std::chrono::milliseconds keep_alive_timeout{5000};  // idle time before the next request
  size_t keep_alive_max_requests = 100;                // requests per connection
};

class GuardedServer final : public httplib::Server {
 public:
  explicit GuardedServer(const ConnectionLimits& limits) : limits_(limits) {}

  // The connection whose request the calling thread is handling; null outside a handler.
  static const ConnectionStream* current_connection();
  // From a handler: close the connection once this response is written. For answers given
  // before the request body was read (cpp-httplib's pre-routing handler runs first), whose
  // unread body would otherwise be taken for the next request.
  static void close_after_response();

 private:
  bool process_and_close_socket(socket_t sock) override;
  // Waits for the next request's first byte: false after the keep-alive timeout, when the
  // client closed, or when the server stops.
  bool wait_for_request(ConnectionStream& stream) const;

  ConnectionLimits limits_;
};

}  // namespace r1vk::serve::http
