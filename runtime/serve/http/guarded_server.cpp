#include "serve/http/guarded_server.h"

#include <arpa/inet.h>
#include <netdb.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cerrno>
#include <cstring>

namespace r1vk::serve::http {
namespace {

thread_local const ConnectionStream* t_current = nullptr;
thread_local bool t_close_after = false;

// poll() for `events` up to `timeout` (split into slices so that EINTR cannot stretch it).
bool wait_socket(socket_t sock, short events, std::chrono::milliseconds timeout) {
  const auto end = ConnectionStream::Clock::now() + timeout;
  while (true) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - ConnectionStream::Clock::now());
    pollfd p{sock, events, 0};
    const int n = ::poll(&p, 1, static_cast<int>(std::max<int64_t>(0, left.count())));
    if (n > 0) return true;  // ready, or an error/hangup that the next read or write reports
    if (n == 0) return false;
    if (errno != EINTR) return false;
  }
}

void address_of(socket_t sock, bool peer, std::string& ip, int& port) {
  sockaddr_storage addr{};
  socklen_t len = sizeof addr;
  const int rc = peer ? ::getpeername(sock, reinterpret_cast<sockaddr*>(&addr), &len) : ::getsockname(sock, reinterpret_cast<sockaddr*>(&addr), &len);
  if (rc != 0) return;
  char host[NI_MAXHOST], serv[NI_MAXSERV];
  if (::getnameinfo(reinterpret_cast<sockaddr*>(&addr), len, host, sizeof host, serv, sizeof serv, NI_NUMERICHOST | NI_NUMERICSERV) == 0) {
    ip = host;
    port = std::atoi(serv);
  }
}

}  // namespace

bool ConnectionStream::wait_readable() const {
  auto timeout = read_timeout_;
  if (deadline_ != Clock::time_point::max()) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline_ - Clock::now());
    if (left.count() <= 0) return false;
    timeout = std::min(timeout, left);
  }
  if (!listener_) return wait_socket(sock_, POLLIN, timeout);
  // In slices, so that a server that stops does not wait for a client sending its request one
  // byte at a time: without this, shutdown took up to the request deadline (30 s by default).
  const auto end = Clock::now() + timeout;
  while (*listener_ != INVALID_SOCKET) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now());
    if (left.count() <= 0) return false;
    if (wait_socket(sock_, POLLIN, std::min(left, std::chrono::milliseconds(50)))) return true;
  }
  return false;
}

bool ConnectionStream::is_readable() const { return has_buffered() || wait_readable(); }

bool ConnectionStream::is_writable() const { return wait_socket(sock_, POLLOUT, write_timeout_); }

ssize_t ConnectionStream::read(char* ptr, size_t size) {
  if (!has_buffered()) {
    if (!wait_readable()) {
      timed_out_ = true;
      return -1;
    }
    ssize_t n;
    do {
      n = ::recv(sock_, buffer_.data(), buffer_.size(), 0);
    } while (n < 0 && errno == EINTR);
    if (n <= 0) return n;
    offset_ = 0;
    size_ = static_cast<size_t>(n);
  }
  const size_t n = std::min(size, size_ - offset_);
  std::memcpy(ptr, buffer_.data() + offset_, n);
  offset_ += n;
  return static_cast<ssize_t>(n);
}

ssize_t ConnectionStream::write(const char* ptr, size_t size) {
  if (!is_writable()) return -1;
  ssize_t n;
  do {
    n = ::send(sock_, ptr, size, MSG_NOSIGNAL);
  } while (n < 0 && errno == EINTR);
  return n;
}

void ConnectionStream::get_remote_ip_and_port(std::string& ip, int& port) const { address_of(sock_, true, ip, port); }
void ConnectionStream::get_local_ip_and_port(std::string& ip, int& port) const { address_of(sock_, false, ip, port); }

bool ConnectionStream::peer_closed() const {
  pollfd p{sock_, POLLIN, 0};
  if (::poll(&p, 1, 0) <= 0) return false;
  if (p.revents & (POLLERR | POLLNVAL)) return true;
  char c;
  const ssize_t n = ::recv(sock_, &c, 1, MSG_PEEK | MSG_DONTWAIT);
  if (n > 0) return false;  // bytes of a next request: the client is still there
  if (n == 0) return true;  // orderly close
  return errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR;
}

const ConnectionStream* GuardedServer::current_connection() { return t_current; }

void GuardedServer::close_after_response() { t_close_after = true; }

bool GuardedServer::wait_for_request(ConnectionStream& stream) const {
  if (stream.has_buffered()) return true;
  // In slices, so that a stopping server (svr_sock_ closed) ends idle connections quickly.
  const auto end = ConnectionStream::Clock::now() + limits_.keep_alive_timeout;
  while (svr_sock_ != INVALID_SOCKET) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - ConnectionStream::Clock::now());
    if (left.count() <= 0) return false;
    if (wait_socket(stream.socket(), POLLIN, std::min(left, std::chrono::milliseconds(50)))) return true;
  }
  return false;
}

bool GuardedServer::process_and_close_socket(socket_t sock) {
  ConnectionStream stream(sock, limits_.read_timeout, limits_.write_timeout, &svr_sock_);
  bool ok = false;
  for (size_t left = std::max<size_t>(limits_.keep_alive_max_requests, 1); left > 0; --left) {
    if (svr_sock_ == INVALID_SOCKET || !wait_for_request(stream)) break;
    stream.set_deadline(ConnectionStream::Clock::now() + limits_.request_timeout);
    bool closed = false;
    t_current = &stream;
    t_close_after = false;
    ok = process_request(stream, /*close_connection=*/left == 1, closed, nullptr);
    t_current = nullptr;
    stream.set_deadline(ConnectionStream::Clock::time_point::max());
    if (!ok || closed || t_close_after) break;
  }
  ::shutdown(sock, SHUT_RDWR);
  ::close(sock);
  return ok;
}

}  // namespace r1vk::serve::http
