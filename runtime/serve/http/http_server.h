// The HTTP face of the engine (OpenAI-compatible): parses and checks requests, encodes prompts,
// submits them to the Engine and writes the answers, streamed as Server-Sent Events or whole.
// It listens before the model is loaded (GET /health answers 503 until set_backend()).
//
// Routes: GET / (the chat page), GET /health, GET /metrics, GET /v1/models,
// POST /v1/chat/completions, POST /v1/completions.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>

#include "base/status.h"
#include "serve/engine.h"
#include "serve/http/openai_request.h"
#include "text/chat_format.h"
#include "text/tokenizer.h"

namespace r1vk::serve::http {

// The base URL a client uses for `host`:`port`, e.g. "http://127.0.0.1:8080"; an IPv6 address
// gets the brackets URLs need ("http://[::1]:8080", RFC 3986 section 3.2.2).
std::string listen_url(const std::string& host, int port);

struct ServerOptions {
  std::string host = "127.0.0.1";
  int port = 8080;                    // 0: any free port (port() says which)
  std::string api_key;                // not empty: /v1/* require "Authorization: Bearer <key>"
  std::string model_id = "r1vk";      // the name /v1/models lists and requests may give
  size_t max_body_bytes = 1 << 20;    // larger bodies get 413
  size_t max_connections = 64;        // connections served at once; more wait to be accepted
  int read_timeout_s = 10;            // a client silent this long while sending is dropped
  int request_timeout_s = 30;         // a request (line, headers, body) must arrive within this
  int write_timeout_s = 10;           // a client not reading this long is dropped
  int keep_alive_timeout_s = 5;       // an idle kept-alive connection is closed after this
  int64_t max_tokens_cap = 0;         // the most max_tokens a request may ask; 0: the context length
  SamplingDefaults defaults;          // sampling for requests that do not say
};

// What the routes need once the model is loaded. Everything must outlive the server.
struct Backend {
  Engine* engine = nullptr;
  const text::Tokenizer* tokenizer = nullptr;
  const text::R1ChatFormat* chat = nullptr;
  // Optional: fills the memory gauges of the metrics (Metrics::device_memory_*) before /metrics
  // renders them. Called on HTTP threads: it must be thread-safe.
  std::function<void(Metrics&)> sample_memory;
};

class HttpServer {
 public:
  explicit HttpServer(ServerOptions options);
  ~HttpServer();
  HttpServer(const HttpServer&) = delete;
  HttpServer& operator=(const HttpServer&) = delete;

  // Binds the listening socket; returns the port. Fails when the address is unusable.
  Result<int> bind();
  // Serves until stop(); call from the thread that should run the accept loop.
  Status run();
  // Graceful stop, from any thread: requests from now on get 503 (`shutting_down`), responses in
  // flight are written to their end (a stream's last events and `data: [DONE]` included), for at
  // most the write timeout + 1 s; then the listening socket closes and run() returns once the
  // open connections are done. Stop the engine first, so that running streams end (cancelled)
  // rather than generate on.
  void stop();

  // The model is ready: /health turns 200 and the /v1 routes serve.
  void set_backend(const Backend& backend);

 private:
  struct Impl;
  std::unique_ptr<Impl> impl_;
};

}  // namespace r1vk::serve::http
