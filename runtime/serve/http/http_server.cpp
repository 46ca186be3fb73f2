#include "serve/http/http_server.h"

#include <httplib.h>

#include <sys/socket.h>

#include <cerrno>
#include <chrono>
#include <condition_variable>
#include <cstring>
#include <ctime>
#include <mutex>
#include <random>
#include <thread>

#include "serve/http/api_error.h"
#include "serve/http/chat_page.h"
#include "serve/http/connection_queue.h"
#include "serve/http/guarded_server.h"
#include "serve/http/openai_response.h"
#include "serve/http/request_framing.h"

namespace r1vk::serve::http {
namespace {

// Pending connections the kernel holds before accept (capped by net.core.somaxconn).
constexpr int kListenBacklog = 1024;

using Json = nlohmann::json;
using Clock = std::chrono::steady_clock;

void send_error(httplib::Response& res, const ApiError& e) {
  res.status = e.status;
  res.set_content(dump(e.to_json()), "application/json");
}

ApiError unavailable(std::string message, std::string code) { return {503, std::move(message), "server_error", "", std::move(code)}; }

// Constant-time comparison, so the key cannot be guessed byte by byte from response times.
bool same_secret(const std::string& a, const std::string& b) {
  unsigned char diff = a.size() == b.size() ? 0 : 1;
  for (size_t i = 0; i < a.size(); ++i) diff |= static_cast<unsigned char>(a[i] ^ b[i % (b.empty() ? 1 : b.size())]);
  return diff == 0 && !b.empty();
}

// The chat template puts blank lines after "</think>": the answer starts at its first character.
struct AnswerTrim {
  bool started = false;
  std::string apply(std::string s) {
    if (started) return s;
    s.erase(0, s.find_first_not_of('\n'));
    if (!s.empty()) started = true;
    return s;
  }
};

}  // namespace

struct HttpServer::Impl {
  ServerOptions options;
  std::unique_ptr<GuardedServer> http;  // made in setup(), from the options
  std::atomic<bool> ready{false};
  Backend backend;
  RequestLimits limits;
  Metrics idle_metrics;  // rendered by /metrics while the model loads
  std::atomic<uint64_t> next_id{1};
  std::atomic<bool> run_active{false};
  std::atomic<bool> stop_requested{false};

  // Completion responses being produced: a handler running, or a stream not yet written to its
  // end. stop() waits for them before it closes the listening socket, because cpp-httplib (0.11)
  // stops calling a chunked content provider as soon as that socket is closed and ends the
  // response there, without its last events and without the terminating chunk.
  std::mutex drain_mutex;
  std::condition_variable drained;
  size_t responses = 0;        // guarded by drain_mutex
  std::atomic<bool> draining{false};  // set under drain_mutex: no response begins after it

  // Registers a response; null once the server is draining. The response counts until the
  // returned token is destroyed.
  std::shared_ptr<void> begin_response() {
    std::lock_guard lock(drain_mutex);
    if (draining.load()) return nullptr;
    ++responses;
    return std::shared_ptr<void>(this, [](Impl* impl) {
      std::lock_guard guard(impl->drain_mutex);
      if (--impl->responses == 0) impl->drained.notify_all();
    });
  }
  // Refuses new responses and waits until those in flight have ended, at most `limit`.
  void drain(std::chrono::milliseconds limit) {
    std::unique_lock lock(drain_mutex);
    draining.store(true);
    drained.wait_for(lock, limit, [&] { return responses == 0; });
  }

  Metrics& metrics() { return ready.load() ? backend.engine->metrics() : idle_metrics; }

  ResponseIds new_ids(bool chat) {
    char buf[32];
    std::snprintf(buf, sizeof buf, "%s-%08llx", chat ? "chatcmpl" : "cmpl", static_cast<unsigned long long>(next_id.fetch_add(1)));
    return {buf, static_cast<int64_t>(std::time(nullptr)), options.model_id};
  }

  void reject(httplib::Response& res, const ApiError& e) {
    ++metrics().requests_rejected;
    send_error(res, e);
  }

  void setup();
  void handle_completion(const httplib::Request& req, httplib::Response& res, bool chat);
  void stream_response(httplib::Response& res, std::shared_ptr<RequestStream> stream, ResponseIds ids, bool chat, bool include_usage,
                       std::shared_ptr<void> in_flight);
  void whole_response(httplib::Response& res, const std::shared_ptr<RequestStream>& stream, const ResponseIds& ids, bool chat);
};

void HttpServer::Impl::setup() {
  ConnectionLimits cl;
  cl.read_timeout = std::chrono::seconds(options.read_timeout_s);
  cl.write_timeout = std::chrono::seconds(options.write_timeout_s);
  cl.request_timeout = std::chrono::seconds(options.request_timeout_s);
  cl.keep_alive_timeout = std::chrono::seconds(options.keep_alive_timeout_s);
  http = std::make_unique<GuardedServer>(cl);
  httplib::Server& server = *http;
  server.new_task_queue = [this] { return new ConnectionQueue(options.max_connections); };
  server.set_payload_max_length(options.max_body_bytes);
  server.set_tcp_nodelay(true);

  server.set_pre_routing_handler([this](const httplib::Request& req, httplib::Response& res) {
    // Refusals here come before the body is read: the connection cannot carry another request.
    auto refuse = [&](const ApiError& e) {
      res.set_header("Connection", "close");
      GuardedServer::close_after_response();
      reject(res, e);
      return httplib::Server::HandlerResponse::Handled;
    };
    if (draining.load()) {
      res.set_header("Retry-After", "1");
      return refuse(unavailable("the server is shutting down", "shutting_down"));
    }
    if (auto e = check_body_framing(req)) return refuse(*e);
    if (!options.api_key.empty() && req.path.rfind("/v1/", 0) == 0) {
      const auto token = bearer_token(req.get_header_value("Authorization"));
      if (!token || !same_secret(*token, options.api_key)) {
        return refuse({401, "a valid API key is required: Authorization: Bearer <key>", "invalid_request_error", "", "invalid_api_key"});
      }
    }
    return httplib::Server::HandlerResponse::Unhandled;
  });
  // Errors cpp-httplib answers by itself (unknown route, body too large, bad request line) get
  // the OpenAI shape too; responses that already carry a body are left alone.
  server.set_error_handler(httplib::Server::HandlerWithResponse([this](const httplib::Request&, httplib::Response& res) {
    if (!res.body.empty()) return httplib::Server::HandlerResponse::Unhandled;
    ApiError e;
    if (const ConnectionStream* c = GuardedServer::current_connection(); res.status == 400 && c != nullptr && c->timed_out()) {
      res.status = 408;  // the request did not arrive in time, rather than arriving malformed
    }
    e.status = res.status;
    switch (res.status) {
      case 404: e.message = "no such route"; e.code = "not_found"; break;
      case 408:
        e.message = "the request did not arrive within the time limit (--read-timeout / --request-timeout)";
        e.code = "request_timeout";
        break;
      case 413: e.message = "the request body is larger than " + std::to_string(options.max_body_bytes) + " bytes"; e.code = "body_too_large"; break;
      case 414: e.message = "the request URI is too long"; break;
      default: e.message = "bad request (HTTP " + std::to_string(res.status) + ")"; break;
    }
    ++metrics().requests_rejected;
    res.set_content(dump(e.to_json()), "application/json");
    return httplib::Server::HandlerResponse::Handled;
  }));
  server.set_exception_handler([](const httplib::Request&, httplib::Response& res, std::exception_ptr) {
    send_error(res, {500, "internal error", "server_error", "", ""});
  });

  server.Get("/", [](const httplib::Request&, httplib::Response& res) {
    const auto page = chat_page_html();
    res.set_content(page.data(), page.size(), "text/html; charset=utf-8");
  });
  server.Get("/health", [this](const httplib::Request&, httplib::Response& res) {
    if (!ready.load()) {
      res.status = 503;
      res.set_content(R"({"status":"loading"})", "application/json");
    } else if (std::string failure = backend.engine->device_failure(); !failure.empty()) {
      // The device is lost: a load balancer or supervisor should restart or replace the server.
      res.status = 503;
      res.set_content(dump({{"status", "error"}, {"error", "the device failed: " + failure}}), "application/json");
    } else {
      res.set_content(R"({"status":"ok"})", "application/json");
    }
  });
  server.Get("/metrics", [this](const httplib::Request&, httplib::Response& res) {
    if (ready.load() && backend.sample_memory) backend.sample_memory(metrics());
    res.set_content(metrics().render_prometheus(), "text/plain; version=0.0.4; charset=utf-8");
  });
  server.Get("/v1/models", [this](const httplib::Request&, httplib::Response& res) {
    Json model = {{"id", options.model_id}, {"object", "model"}, {"created", 0}, {"owned_by", "r1vk"}};
    if (ready.load()) model["max_model_len"] = backend.engine->context_length();
    res.set_content(dump({{"object", "list"}, {"data", Json::array({model})}}), "application/json");
  });
  server.Post("/v1/chat/completions", [this](const httplib::Request& req, httplib::Response& res) { handle_completion(req, res, true); });
  server.Post("/v1/completions", [this](const httplib::Request& req, httplib::Response& res) { handle_completion(req, res, false); });
}

void HttpServer::Impl::handle_completion(const httplib::Request& req, httplib::Response& res, bool chat) {
  std::shared_ptr<void> in_flight = begin_response();
  if (!in_flight) return reject(res, unavailable("the server is shutting down", "shutting_down"));
  if (!ready.load()) {
    res.set_header("Retry-After", "1");
    return reject(res, unavailable("the model is still loading", "model_loading"));
  }
  if (chat && backend.chat == nullptr) {
    return reject(res, bad_request("this model's tokenizer has no R1 chat format: use /v1/completions", "", "unsupported"));
  }
  auto parsed = parse_completion_request(req.body, chat, options.defaults, limits);
  if (auto* e = std::get_if<ApiError>(&parsed)) return reject(res, *e);
  CompletionRequest& r = std::get<CompletionRequest>(parsed);
  if (!r.model.empty() && r.model != options.model_id) {
    return reject(res, {404, "the model \"" + r.model + "\" does not exist; this server serves \"" + options.model_id + "\"",
                        "invalid_request_error", "model", "model_not_found"});
  }

  GenerationRequest g;
  if (chat) {
    auto ids = backend.chat->encode(r.messages, /*add_generation_prompt=*/true);
    if (!ids.ok()) return reject(res, bad_request("the messages cannot be encoded: " + ids.error().message(), "messages"));
    g.prompt.assign(ids->begin(), ids->end());
  } else {
    auto ids = backend.tokenizer->encode(r.prompt);
    if (!ids.ok()) return reject(res, bad_request("the prompt cannot be encoded: " + ids.error().message(), "prompt"));
    g.prompt.assign(ids->begin(), ids->end());
  }
  // Without a seed every request samples afresh (as OpenAI's API does): a fixed default would make
  // every retry of a prompt, the chat page's included, return the very same text.
  const uint32_t seed = r.seed ? *r.seed : std::random_device{}();
  g.sampling = {static_cast<float>(r.temperature), static_cast<float>(r.top_p), r.top_k, seed};
  g.max_tokens = r.max_tokens.value_or(limits.max_tokens_cap);
  g.text.prompt_opened_think = chat;
  g.text.split_reasoning = chat;
  g.text.stop_strings = r.stop;

  auto submitted = backend.engine->submit(std::move(g));
  if (!submitted.ok()) {
    const Error& err = submitted.error();
    switch (err.code()) {
      case ErrorCode::kOutOfRange: return reject(res, bad_request(err.message(), chat ? "messages" : "prompt", "context_length_exceeded"));
      case ErrorCode::kOutOfMemory:
        res.set_header("Retry-After", "1");
        return reject(res, unavailable(err.message(), "server_busy"));
      case ErrorCode::kCancelled: return reject(res, unavailable(err.message(), "shutting_down"));
      case ErrorCode::kVulkan: return reject(res, unavailable(err.message(), "device_failed"));
      default: return reject(res, bad_request(err.message()));
    }
  }
  const ResponseIds ids = new_ids(chat);
  if (r.stream) {
    stream_response(res, *submitted, ids, chat, r.include_usage, std::move(in_flight));
  } else {
    whole_response(res, *submitted, ids, chat);
  }
}

void HttpServer::Impl::whole_response(httplib::Response& res, const std::shared_ptr<RequestStream>& stream, const ResponseIds& ids,
                                      bool chat) {
  std::string reasoning, answer;
  AnswerTrim trim;
  const ConnectionStream* connection = GuardedServer::current_connection();
  while (true) {
    StreamUpdate u = stream->take(std::chrono::milliseconds(200));
    // Nothing is written until the end, so a client that went away is found by looking at its
    // socket: its sequence is cancelled and freed at the engine's next step.
    if (!u.finish && !stream->cancelled() && connection != nullptr && connection->peer_closed()) {
      stream->cancel();
      backend.engine->notify();
    }
    for (auto& p : u.pieces) {
      if (p.kind == text::TextKind::kReasoning) {
        reasoning += p.text;
      } else {
        answer += chat ? trim.apply(std::move(p.text)) : p.text;
      }
    }
    if (!u.finish) continue;
    const FinishInfo& f = *u.finish;
    if (f.reason == FinishReason::kCancelled) {
      return send_error(res, unavailable(stream->cancelled() ? "the request was cancelled: the client went away"
                                                             : "the request was cancelled: the server is shutting down",
                                         "cancelled"));
    }
    if (f.reason == FinishReason::kError) return send_error(res, {500, "generation failed: " + f.error, "server_error", "", ""});
    res.set_content(dump(chat ? chat_completion(ids, reasoning, answer, f) : text_completion(ids, answer, f)), "application/json");
    return;
  }
}

void HttpServer::Impl::stream_response(httplib::Response& res, std::shared_ptr<RequestStream> stream, ResponseIds ids, bool chat,
                                       bool include_usage, std::shared_ptr<void> in_flight) {
  struct State {
    std::shared_ptr<void> in_flight;  // the stream counts for stop() until the response is gone
    std::shared_ptr<RequestStream> stream;
    ResponseIds ids;
    bool chat = true, include_usage = false;
    bool sent_role = false;
    AnswerTrim trim;
    Clock::time_point last_write = Clock::now();
  };
  auto st = std::make_shared<State>();
  st->in_flight = std::move(in_flight);
  st->stream = std::move(stream);
  st->ids = std::move(ids);
  st->chat = chat;
  st->include_usage = include_usage;
  res.set_header("Cache-Control", "no-cache");
  res.set_header("X-Accel-Buffering", "no");
  Engine* engine = backend.engine;
  res.set_chunked_content_provider(
      "text/event-stream",
      [st](size_t, httplib::DataSink& sink) {
        std::string out;
        if (st->chat && !st->sent_role) {
          out += sse_event(chat_chunk(st->ids, {{"role", "assistant"}, {"content", ""}}, std::nullopt));
          st->sent_role = true;
        }
        StreamUpdate u = st->stream->take(std::chrono::milliseconds(250));
        for (auto& p : u.pieces) {
          if (!st->chat) {
            out += sse_event(text_chunk(st->ids, p.text, std::nullopt));
          } else if (p.kind == text::TextKind::kReasoning) {
            out += sse_event(chat_chunk(st->ids, {{"reasoning_content", p.text}, {"reasoning", p.text}}, std::nullopt));
          } else if (std::string a = st->trim.apply(std::move(p.text)); !a.empty()) {
            out += sse_event(chat_chunk(st->ids, {{"content", a}}, std::nullopt));
          }
        }
        if (u.finish) {
          const FinishInfo& f = *u.finish;
          if (auto reason = openai_finish_reason(f.reason)) {
            out += sse_event(st->chat ? chat_chunk(st->ids, Json::object(), reason) : text_chunk(st->ids, "", reason));
            if (st->include_usage) out += sse_event(usage_chunk(st->ids, st->chat, f));
          } else {
            const ApiError e = f.reason == FinishReason::kError ? ApiError{500, "generation failed: " + f.error, "server_error", "", ""}
                                                                : unavailable("the request was cancelled: the server is shutting down", "cancelled");
            out += sse_event(e.to_json());
          }
          out += "data: [DONE]\n\n";
        } else if (out.empty()) {
          // Nothing new (queued, or a long prompt): a comment line now and then finds out
          // whether the client is still there.
          if (Clock::now() - st->last_write < std::chrono::seconds(1)) return true;
          out = ": keep-alive\n\n";
        }
        if (!sink.write(out.data(), out.size())) return false;  // the client went away
        st->last_write = Clock::now();
        if (u.finish) sink.done();
        return true;
      },
      // Runs when the response ends for any reason; after a disconnect it cancels the sequence,
      // which the engine frees at its next step.
      [st, engine](bool) {
        st->stream->cancel();
        engine->notify();
      });
}

HttpServer::HttpServer(ServerOptions options) : impl_(std::make_unique<Impl>()) {
  impl_->options = std::move(options);
  impl_->setup();
}

HttpServer::~HttpServer() { stop(); }

Result<int> HttpServer::bind() {
  const auto& o = impl_->options;
  if (o.port < 0 || o.port > 65535) return make_error(ErrorCode::kInvalidArgument, "--port must be in 0..65535");
  // Debian's cpp-httplib is a shared library built with a listen backlog of 5: a burst of new
  // connections beyond it was reset by the kernel before the server could queue them
  // (--max-connections) or answer 503. The listening socket is remembered as it is created, and
  // listened on again with a deep backlog (on Linux a second listen() sets the backlog).
  int listen_fd = -1;
  impl_->http->set_socket_options([&listen_fd](socket_t sock) {
    httplib::default_socket_options(sock);
    listen_fd = static_cast<int>(sock);
  });
  int port = o.port;
  if (o.port == 0) {
    port = impl_->http->bind_to_any_port(o.host);
    if (port < 0) port = 0;
  } else if (!impl_->http->bind_to_port(o.host, o.port)) {
    port = 0;
  }
  if (port == 0) return make_error(ErrorCode::kIo, "cannot listen on " + o.host + ":" + std::to_string(o.port) + " (address in use or not local?)");
  if (listen_fd >= 0 && ::listen(listen_fd, kListenBacklog) != 0) {
    return make_error(ErrorCode::kIo, std::string("cannot set the listen backlog: ") + std::strerror(errno));
  }
  return port;
}

Status HttpServer::run() {
  impl_->run_active.store(true);
  const bool ok = impl_->stop_requested.load() || impl_->http->listen_after_bind();
  impl_->run_active.store(false);
  if (!ok) return make_error(ErrorCode::kIo, "the HTTP server stopped with an error");
  return ok_status();
}

void HttpServer::stop() {
  impl_->stop_requested.store(true);
  // run() may be just about to listen: keep at it until the accept loop has started and ended.
  bool stopped = false;
  while (impl_->run_active.load()) {
    if (!stopped && impl_->http->is_running()) {
      // A stream whose writes stall longer than the write timeout is dropped anyway.
      impl_->drain(std::chrono::seconds(impl_->options.write_timeout_s) + std::chrono::seconds(1));
      impl_->http->stop();
      stopped = true;
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
}

void HttpServer::set_backend(const Backend& backend) {
  impl_->backend = backend;
  const int64_t ctx = backend.engine->context_length();
  impl_->limits.max_tokens_cap = impl_->options.max_tokens_cap > 0 ? std::min(impl_->options.max_tokens_cap, ctx) : ctx;
  impl_->ready.store(true);
}

std::string listen_url(const std::string& host, int port) {
  const bool ipv6 = host.find(':') != std::string::npos && host.front() != '[';
  return "http://" + (ipv6 ? "[" + host + "]" : host) + ":" + std::to_string(port);
}

}  // namespace r1vk::serve::http
