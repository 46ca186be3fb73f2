// The HTTP server (runtime/serve/http) on the fake step runner, over loopback sockets written by
// hand, for the client behaviour the node tests cannot produce: a client that dribbles its headers
// a byte at a time, pipelined requests, a non-streaming request whose client goes away, and
// /health once the device is lost; request framing (chunked bodies, Content-Length) and timeouts.
#include <doctest/doctest.h>

#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <future>
#include <memory>
#include <thread>

#include "engine_test_util.h"
#include "serve/engine.h"
#include "serve/http/http_server.h"
#include "text/chat_format.h"

namespace r1vk::serve {
namespace {

using namespace std::chrono_literals;
using Clock = std::chrono::steady_clock;

// A loopback connection written and read by hand.
class RawClient {
 public:
  // `receive_buffer` > 0 shrinks the socket's receive buffer (before connecting, so that the
  // window the server sees is small too): a client that does not read then stalls the server's
  // writes after a few KiB.
  explicit RawClient(int port, int receive_buffer = 0) {
    fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
    if (receive_buffer > 0) REQUIRE(::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &receive_buffer, sizeof receive_buffer) == 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(static_cast<uint16_t>(port));
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    REQUIRE(::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
  }
  ~RawClient() { close(); }
  void close() {
    if (fd_ >= 0) ::close(fd_);
    fd_ = -1;
  }
  int fd() const { return fd_; }
  bool send(std::string_view s) { return ::send(fd_, s.data(), s.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(s.size()); }
  // Everything the server sends until it closes the connection or `limit` passes; `closed`
  // says which.
  std::string read_all(std::chrono::milliseconds limit, bool* closed = nullptr) {
    std::string out;
    const auto end = Clock::now() + limit;
    while (Clock::now() < end) {
      pollfd p{fd_, POLLIN, 0};
      const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(end - Clock::now()).count();
      if (::poll(&p, 1, static_cast<int>(std::max<int64_t>(left, 0))) <= 0) break;
      char buf[4096];
      const ssize_t n = ::recv(fd_, buf, sizeof buf, 0);
      if (n <= 0) {
        if (closed) *closed = true;
        return out;
      }
      out.append(buf, static_cast<size_t>(n));
    }
    if (closed) *closed = false;
    return out;
  }

 private:
  int fd_ = -1;
};

// The server's end of `client`'s connection (the test and the server share the process, so the
// accepted socket is one of our descriptors): -1 until the server has accepted it.
int server_end_of(const RawClient& client) {
  sockaddr_in mine{};
  socklen_t len = sizeof mine;
  REQUIRE(::getsockname(client.fd(), reinterpret_cast<sockaddr*>(&mine), &len) == 0);
  for (int fd = 0; fd < 4096; ++fd) {
    if (fd == client.fd()) continue;
    sockaddr_in peer{};
    socklen_t plen = sizeof peer;
    if (::getpeername(fd, reinterpret_cast<sockaddr*>(&peer), &plen) != 0 || peer.sin_family != AF_INET) continue;
    if (peer.sin_port == mine.sin_port && peer.sin_addr.s_addr == mine.sin_addr.s_addr) return fd;
  }
  return -1;
}

size_t count(const std::string& s, std::string_view what) {
  size_t n = 0;
  for (size_t at = s.find(what); at != std::string::npos; at = s.find(what, at + 1)) ++n;
  return n;
}

std::string post(std::string_view route, std::string_view body, bool close = true) {
  return std::string("POST ") + std::string(route) + " HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: " +
         std::to_string(body.size()) + (close ? "\r\nConnection: close" : "") + "\r\n\r\n" + std::string(body);
}

// The fake model answers "7" forever (until max_tokens).
FakeStepRunnerOptions endless_runner() {
  FakeStepRunnerOptions o;
  o.max_batch = 4;
  o.total_blocks = 1024;
  o.block_tokens = 16;
  o.context_length = 1024;
  const int32_t seven = test::encode("7")[0];
  o.next_token = [seven](const std::vector<int32_t>&) { return seven; };
  return o;
}

http::ServerOptions quick_options() {
  http::ServerOptions o;
  o.host = "127.0.0.1";
  o.port = 0;
  o.model_id = "fake";
  o.read_timeout_s = 1;
  o.write_timeout_s = 2;
  o.request_timeout_s = 2;
  o.max_connections = 2;
  return o;
}

struct Server {
  explicit Server(FakeStepRunnerOptions ro = endless_runner(), http::ServerOptions so = quick_options())
      : runner(std::move(ro)),
        engine(runner, test::demo_tokenizer(), test::demo_eos(), {}),
        chat(text::R1ChatFormat::from_tokenizer(test::demo_tokenizer()).value()),
        server(so) {
    auto p = server.bind();
    REQUIRE(p.ok());
    port = *p;
    thread = std::thread([this] { (void)server.run(); });
    engine.start();
    server.set_backend({&engine, &test::demo_tokenizer(), &chat, [](Metrics& m) {
                          // As r1vk serve fills them from the device's allocator.
                          m.device_memory_allocated = 3 << 20;
                          m.device_memory_in_use = 2 << 20;
                          m.host_visible_memory_allocated = 1 << 20;
                        }});
  }
  ~Server() {
    engine.stop();
    server.stop();
    thread.join();
  }
  FakeStepRunner runner;
  Engine engine;
  text::R1ChatFormat chat;
  http::HttpServer server;
  int port = 0;
  std::thread thread;
};

bool wait_until(const std::function<bool()>& ok, std::chrono::milliseconds limit) {
  const auto end = Clock::now() + limit;
  while (Clock::now() < end) {
    if (ok()) return true;
    std::this_thread::sleep_for(10ms);
  }
  return ok();
}

TEST_CASE("pipelined requests on one connection are all answered, in order") {
  Server s;
  RawClient c(s.port);
  REQUIRE(c.send("GET /health HTTP/1.1\r\nHost: x\r\n\r\n"
                 "GET /v1/models HTTP/1.1\r\nHost: x\r\n\r\n" +
                 post("/v1/completions", R"({"prompt": "1", "max_tokens": 3, "temperature": 0})")));
  const std::string out = c.read_all(5000ms);
  CHECK(count(out, "HTTP/1.1 200 OK") == 3);
  const size_t health = out.find(R"({"status":"ok"})"), models = out.find(R"("object":"list")"), completion = out.find(R"("text":"777")");
  CHECK(health != std::string::npos);
  CHECK(models != std::string::npos);
  CHECK(completion != std::string::npos);
  CHECK((health < models && models < completion));
}

TEST_CASE("a request refused before its body is read (401) closes the connection: the body is never taken for a request") {
  http::ServerOptions so = quick_options();
  so.api_key = "s3cret";
  Server s(endless_runner(), so);
  RawClient c(s.port);
  REQUIRE(c.send(post("/v1/completions", R"({"prompt": "1", "max_tokens": 3})", /*close=*/false) + "GET /health HTTP/1.1\r\nHost: x\r\n\r\n"));
  bool closed = false;
  const std::string out = c.read_all(3000ms, &closed);
  CHECK(out.rfind("HTTP/1.1 401", 0) == 0);
  CHECK(count(out, "HTTP/1.1 ") == 1);
  CHECK(closed);
}

TEST_CASE("a chunked request body is refused (411) before it is read, whatever its size; the connection closes") {
  // cpp-httplib 0.11 applies --max-body-bytes only to Content-Length bodies: a chunked one would
  // be read without limit. A small, valid one is refused too (reading it would not be bounded).
  Server s;
  RawClient c(s.port);
  const std::string body = R"({"prompt": "1", "max_tokens": 3})";
  char size[16];
  std::snprintf(size, sizeof size, "%zx", body.size());
  REQUIRE(c.send("POST /v1/completions HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n" +
                 std::string(size) + "\r\n" + body + "\r\n0\r\n\r\n"));
  bool closed = false;
  const std::string out = c.read_all(3000ms, &closed);
  CHECK(out.rfind("HTTP/1.1 411", 0) == 0);
  CHECK(out.find("length_required") != std::string::npos);
  CHECK(out.find("Content-Length") != std::string::npos);
  CHECK(count(out, "HTTP/1.1 ") == 1);
  CHECK(closed);
}

TEST_CASE("a POST without Content-Length is 411") {
  Server s;
  RawClient c(s.port);
  REQUIRE(c.send("POST /v1/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n{}"));
  const std::string out = c.read_all(3000ms);
  CHECK(out.rfind("HTTP/1.1 411", 0) == 0);
}

TEST_CASE("Content-Length framing: differing duplicates, negative and non-numeric values are 400 naming the problem") {
  Server s;
  const std::string body = R"({"prompt": "1", "max_tokens": 3})";
  const auto size = std::to_string(body.size());
  struct Case {
    std::string lengths, message;
  };
  for (const Case& k : {Case{"Content-Length: " + size + "\r\nContent-Length: 5", "several different Content-Length headers"},
                        Case{"Content-Length: -1", "is not a non-negative decimal integer"},
                        Case{"Content-Length: abc", "is not a non-negative decimal integer"},
                        Case{"Content-Length: 0x10", "is not a non-negative decimal integer"}}) {
    RawClient c(s.port);
    REQUIRE(c.send("POST /v1/completions HTTP/1.1\r\nHost: x\r\n" + k.lengths + "\r\n\r\n" + body));
    bool closed = false;
    const std::string out = c.read_all(3000ms, &closed);
    CHECK_MESSAGE(out.rfind("HTTP/1.1 400", 0) == 0, k.lengths, " -> ", out);
    CHECK_MESSAGE(out.find(k.message) != std::string::npos, k.lengths, " -> ", out);
    CHECK(closed);
  }
  // The same length twice is one length.
  RawClient c(s.port);
  REQUIRE(c.send("POST /v1/completions HTTP/1.1\r\nHost: x\r\nConnection: close\r\nContent-Length: " + size +
                 "\r\nContent-Length: " + size + "\r\n\r\n" + body));
  CHECK(c.read_all(3000ms).rfind("HTTP/1.1 200", 0) == 0);
}

TEST_CASE("the Authorization scheme is case-insensitive") {
  http::ServerOptions so = quick_options();
  so.api_key = "s3cret";
  Server s(endless_runner(), so);
  for (const char* auth : {"Bearer s3cret", "bearer s3cret", "BEARER  s3cret"}) {
    RawClient c(s.port);
    REQUIRE(c.send("GET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: " + std::string(auth) + "\r\n\r\n"));
    CHECK_MESSAGE(c.read_all(3000ms).rfind("HTTP/1.1 200", 0) == 0, auth);
  }
  for (const char* auth : {"Basic s3cret", "bearer s3cre", "Bearers3cret"}) {
    RawClient c(s.port);
    REQUIRE(c.send("GET /v1/models HTTP/1.1\r\nHost: x\r\nConnection: close\r\nAuthorization: " + std::string(auth) + "\r\n\r\n"));
    CHECK_MESSAGE(c.read_all(3000ms).rfind("HTTP/1.1 401", 0) == 0, auth);
  }
}

TEST_CASE("headers that stall past the read timeout are answered 408") {
  Server s;  // 1 s of silence allowed
  RawClient c(s.port);
  REQUIRE(c.send("GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: a"));
  const std::string out = c.read_all(4000ms);
  CHECK(out.rfind("HTTP/1.1 408", 0) == 0);
  CHECK(out.find("request_timeout") != std::string::npos);
}

TEST_CASE("clients dribbling their headers a byte at a time are dropped at the request deadline; others are served") {
  Server s;  // 2 connections at once, 1 s of silence allowed, 2 s for a whole request
  const auto t0 = Clock::now();
  auto dribble = [&] {
    RawClient c(s.port);
    const std::string head = "GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + std::string(100, 'a');
    for (char ch : head) {
      if (!c.send(std::string_view(&ch, 1))) break;
      // Within the read timeout, so only the request deadline can end it.
      std::this_thread::sleep_for(400ms);
      if (Clock::now() - t0 > 6s) break;
    }
    bool closed = false;
    const std::string reply = c.read_all(1000ms, &closed);
    return std::make_pair(Clock::now() - t0, reply);
  };
  auto a = std::async(std::launch::async, dribble);
  auto b = std::async(std::launch::async, dribble);
  std::this_thread::sleep_for(300ms);  // both connections are taken
  RawClient c(s.port);
  REQUIRE(c.send("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  const std::string out = c.read_all(6000ms);
  const auto served_after = Clock::now() - t0;
  CHECK(out.find(R"({"status":"ok"})") != std::string::npos);
  CHECK(served_after < 4s);
  for (auto* f : {&a, &b}) {
    auto [when, reply] = f->get();
    // Dropped (the write failing, or an error answer) well before the dribble would end (~40 s).
    CHECK(when < 6s);
    CHECK((reply.empty() || reply.rfind("HTTP/1.1 4", 0) == 0));
  }
}

TEST_CASE("a non-streaming request whose client goes away is cancelled, its blocks freed") {
  FakeStepRunnerOptions ro = endless_runner();
  ro.step_delay = 5ms;  // 400 tokens: 2 s if nobody cancels it
  Server s(ro);
  {
    RawClient c(s.port);
    REQUIRE(c.send(post("/v1/completions", R"({"prompt": "1", "max_tokens": 400, "temperature": 0})")));
    REQUIRE(wait_until([&] { return s.engine.metrics().running.load() == 1; }, 2000ms));
  }  // closed
  CHECK(wait_until([&] { return s.engine.metrics().requests_cancelled.load() == 1; }, 1000ms));
  CHECK(wait_until([&] { return s.engine.metrics().running.load() == 0 && s.engine.metrics().kv_blocks_used.load() == 0; }, 1000ms));
  CHECK(s.engine.metrics().requests_length.load() == 0);
  CHECK(s.runner.live_sequences() == 0);
}

TEST_CASE("a burst of 48 connections while every worker is busy waits in the listen backlog; all are answered") {
  // Regression: Debian's cpp-httplib listens with a backlog of 5, so beyond about six queued
  // connections the kernel dropped new handshakes (and clients saw resets) before the server's
  // --max-connections queueing applied. The server listens again with 1024.
  http::ServerOptions so = quick_options();  // 2 workers
  so.read_timeout_s = 10;
  so.request_timeout_s = 10;
  Server s(endless_runner(), so);
  // Both workers and the accepting thread held by clients that have not finished their request.
  std::vector<std::unique_ptr<RawClient>> slow;
  for (int i = 0; i < 3; ++i) {
    slow.push_back(std::make_unique<RawClient>(s.port));
    REQUIRE(slow.back()->send("GET /health HTTP/1.1\r\nHost: x\r\n"));
  }
  std::this_thread::sleep_for(200ms);  // accepted, each stuck in its headers
  // The burst: every handshake is completed by the kernel while nothing is accepted, so each
  // connection must be writable at once (a dropped handshake is retried only after a second).
  constexpr int kBurst = 48;
  std::vector<int> fds;
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(static_cast<uint16_t>(s.port));
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  for (int i = 0; i < kBurst; ++i) {
    const int fd = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK, 0);
    REQUIRE(fd >= 0);
    fds.push_back(fd);
    const int rc = ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
    REQUIRE((rc == 0 || errno == EINPROGRESS));
  }
  int connected = 0;
  const auto end = Clock::now() + 700ms;
  std::vector<bool> done(fds.size(), false);
  while (connected < kBurst && Clock::now() < end) {
    std::vector<pollfd> p;
    for (size_t i = 0; i < fds.size(); ++i) p.push_back({fds[i], static_cast<short>(done[i] ? 0 : POLLOUT), 0});
    ::poll(p.data(), p.size(), 50);
    for (size_t i = 0; i < fds.size(); ++i) {
      if (done[i] || !(p[i].revents & (POLLOUT | POLLERR | POLLHUP))) continue;
      int err = 0;
      socklen_t len = sizeof err;
      ::getsockopt(fds[i], SOL_SOCKET, SO_ERROR, &err, &len);
      CHECK_MESSAGE(err == 0, "connection ", i, ": ", std::strerror(err));
      done[i] = true;
      ++connected;
    }
  }
  CHECK(connected == kBurst);
  // Free the workers: every connection of the burst is answered, none reset.
  slow.clear();
  for (int fd : fds) {
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) & ~O_NONBLOCK);
    const std::string req = "GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    CHECK(::send(fd, req.data(), req.size(), MSG_NOSIGNAL) == static_cast<ssize_t>(req.size()));
  }
  int answered = 0;
  for (int fd : fds) {
    std::string out;
    const auto until = Clock::now() + 10s;
    while (Clock::now() < until) {
      pollfd p{fd, POLLIN, 0};
      if (::poll(&p, 1, 100) <= 0) continue;
      char buf[1024];
      const ssize_t n = ::recv(fd, buf, sizeof buf, 0);
      if (n <= 0) break;
      out.append(buf, static_cast<size_t>(n));
    }
    if (out.rfind("HTTP/1.1 200", 0) == 0) ++answered;
    ::close(fd);
  }
  CHECK(answered == kBurst);
}

TEST_CASE("/metrics shows the device memory the backend samples") {
  Server s;
  RawClient c(s.port);
  REQUIRE(c.send("GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
  const std::string out = c.read_all(3000ms);
  CHECK(out.find("\nr1vk_device_memory_allocated_bytes 3145728\n") != std::string::npos);
  CHECK(out.find("\nr1vk_device_memory_in_use_bytes 2097152\n") != std::string::npos);
  CHECK(out.find("\nr1vk_host_visible_memory_allocated_bytes 1048576\n") != std::string::npos);
}

TEST_CASE("/health turns 503 with the reason once the device is lost; new requests are refused") {
  FakeStepRunnerOptions ro = endless_runner();
  ro.lose_device_at_step = 3;
  Server s(ro);
  {
    RawClient c(s.port);
    REQUIRE(c.send("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    CHECK(c.read_all(3000ms).rfind("HTTP/1.1 200", 0) == 0);
  }
  {
    RawClient c(s.port);
    REQUIRE(c.send(post("/v1/completions", R"({"prompt": "1", "max_tokens": 20})")));
    const std::string out = c.read_all(3000ms);
    CHECK(out.rfind("HTTP/1.1 500", 0) == 0);
    CHECK(out.find("VK_ERROR_DEVICE_LOST") != std::string::npos);
  }
  {
    RawClient c(s.port);
    REQUIRE(c.send("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    const std::string out = c.read_all(3000ms);
    CHECK(out.rfind("HTTP/1.1 503", 0) == 0);
    CHECK(out.find(R"("status":"error")") != std::string::npos);
    CHECK(out.find("VK_ERROR_DEVICE_LOST") != std::string::npos);
  }
  {
    RawClient c(s.port);
    REQUIRE(c.send(post("/v1/completions", R"({"prompt": "1", "max_tokens": 20})")));
    const std::string out = c.read_all(3000ms);
    CHECK(out.rfind("HTTP/1.1 503", 0) == 0);
    CHECK(out.find("device_failed") != std::string::npos);
  }
}

TEST_CASE("an ordinary step error fails its request with 500; /health stays ok and new requests are served") {
  FakeStepRunnerOptions ro = endless_runner();
  ro.fail_steps = {2};
  ro.step_error_code = ErrorCode::kVulkan;
  ro.step_error = "vkQueueSubmit failed: VK_ERROR_OUT_OF_DEVICE_MEMORY";
  Server s(ro);
  {
    RawClient c(s.port);
    REQUIRE(c.send(post("/v1/completions", R"({"prompt": "1", "max_tokens": 20})")));
    const std::string out = c.read_all(3000ms);
    CHECK(out.rfind("HTTP/1.1 500", 0) == 0);
    CHECK(out.find("VK_ERROR_OUT_OF_DEVICE_MEMORY") != std::string::npos);
  }
  {
    RawClient c(s.port);
    REQUIRE(c.send("GET /health HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n"));
    const std::string out = c.read_all(3000ms);
    CHECK(out.rfind("HTTP/1.1 200", 0) == 0);
    CHECK(out.find(R"("status":"ok")") != std::string::npos);
  }
  {
    RawClient c(s.port);
    REQUIRE(c.send(post("/v1/completions", R"({"prompt": "1", "max_tokens": 5})")));
    const std::string out = c.read_all(3000ms);
    CHECK(out.rfind("HTTP/1.1 200", 0) == 0);
    CHECK(out.find(R"("text":"77777")") != std::string::npos);
  }
}

TEST_CASE("shutdown while a stream's writes are stalled: the stream still ends with its final events and [DONE]") {
  // The shutdown order of `r1vk serve`: the engine stops (every stream is finished, cancelled),
  // then the HTTP server. Here the stream's writer is blocked on a client that stopped reading
  // when that happens, so the end of the stream is written only after the server was told to
  // stop. cpp-httplib stops calling a chunked content provider once its listening socket is
  // closed, without the final chunk: the server must not close it before streams are written out.
  FakeStepRunnerOptions ro = endless_runner();
  ro.step_delay = 1ms;  // ~1000 tokens/s, 100-150 bytes of SSE each
  Server s(ro);
  RawClient c(s.port, /*receive_buffer=*/2048);
  // Linux grows a loopback send buffer to megabytes: pin the server's to a few KiB (the kernel's
  // minimum), so that the writer stalls after a few dozen events rather than after 30,000.
  int server_fd = -1;
  REQUIRE(wait_until([&] { return (server_fd = server_end_of(c)) >= 0; }, 2000ms));
  const int send_buffer = 4096;
  REQUIRE(::setsockopt(server_fd, SOL_SOCKET, SO_SNDBUF, &send_buffer, sizeof send_buffer) == 0);
  REQUIRE(c.send(post("/v1/completions", R"({"prompt": "1", "max_tokens": 1000, "temperature": 0, "stream": true})")));
  // Far more generated than the two socket buffers hold, and still generating.
  REQUIRE(wait_until([&] { return s.engine.metrics().generation_tokens.load() >= 300; }, 3000ms));
  REQUIRE(s.engine.metrics().running.load() == 1);
  auto stopped = std::async(std::launch::async, [&] {
    s.engine.stop();
    s.server.stop();
  });
  std::this_thread::sleep_for(300ms);  // the server is stopping; its writer still waits on us
  bool closed = false;
  const std::string out = c.read_all(5000ms, &closed);
  CHECK(closed);
  CHECK(out.rfind("HTTP/1.1 200", 0) == 0);
  CHECK(out.find(R"("code":"cancelled")") != std::string::npos);
  CHECK(out.find("data: [DONE]") != std::string::npos);
  // The chunked body's terminating chunk: the response is whole, not cut.
  CHECK(out.size() >= 5);
  CHECK(out.compare(out.size() - std::min<size_t>(out.size(), 5), 5, "0\r\n\r\n") == 0);
  stopped.get();
}

TEST_CASE("shutdown does not wait for a client sending its request a byte at a time") {
  // Each byte comes within the read timeout and the request deadline is far away, so before the
  // fix the stopping server waited for that deadline (here 30 s) before it could close.
  http::ServerOptions so = quick_options();
  so.read_timeout_s = 5;
  so.request_timeout_s = 30;
  Server s(endless_runner(), so);
  std::atomic<bool> done{false};
  auto dribble = std::async(std::launch::async, [&] {
    RawClient c(s.port);
    const std::string head = "GET /health HTTP/1.1\r\nHost: x\r\nX-Slow: " + std::string(100, 'a');
    for (char ch : head) {
      if (done.load() || !c.send(std::string_view(&ch, 1))) break;
      std::this_thread::sleep_for(500ms);
    }
  });
  std::this_thread::sleep_for(1200ms);  // the request is being read
  const auto t0 = Clock::now();
  s.engine.stop();
  s.server.stop();
  const auto took = Clock::now() - t0;
  done.store(true);
  dribble.get();
  CHECK(took < 3s);
}

}  // namespace
}  // namespace r1vk::serve
