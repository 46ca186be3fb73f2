// `r1vk serve [MODEL]`: an OpenAI-compatible HTTP server (runtime/serve/http) over the serving
// engine (runtime/serve). It listens at once (GET /health answers 503 while the model loads),
// and SIGINT/SIGTERM stop it: running requests are cancelled, open connections closed, exit 0.
#include <pthread.h>
#include <signal.h>

#include <atomic>
#include <cstdlib>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <filesystem>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

#include "base/temp_files.h"
#include "command.h"
#include "common_flags.h"
#include "default_model.h"
#include "model_session.h"
#include "serve/engine.h"
#include "serve/generation_check.h"
#include "serve/http/http_server.h"
#include "serve/batch_runner.h"
#include "exec/executor_memory.h"

namespace r1vk::cli {
namespace {

struct ServeArgs {
  std::string model = default_model_dir();
  std::string model_name;
  std::string host = "127.0.0.1";
  int port = 8080;
  std::string api_key;
  uint32_t max_batch = 16;
  size_t max_queue = 64;
  size_t max_connections = 64;
  size_t max_body_bytes = 1 << 20;
  int64_t max_tokens_cap = 0;
  int read_timeout = 10;
  int request_timeout = 30;
  uint32_t prefill_chunk = 256;
  int64_t draft_max_batch = -1;  // -1: by device type (kDraftMaxBatchCpu / kDraftMaxBatchGpu)
  double temperature = 0.6;
  double top_p = 0.95;
  int64_t context = 0;
  std::string weights = "auto";
  std::optional<int> device;
  PipelineFlags pipeline;
  OffloadFlags offload;
  DraftFlags draft;
};

// Most decoding sequences with which a step still verifies MTP drafts, unless --draft-max-batch
// says otherwise. On a CPU device (lavapipe) every row is compute: measured on the demo model,
// drafts gain 1.17-1.25x at concurrency 1 and lose at 4 (0.87-0.92x) and 16 (0.75-0.80x)
// (docs/server.md). On a GPU a small step is bound by weight reads and a verify row is nearly
// free; 8 is an estimate (not measured on a GPU), below the batch where GEMMs turn compute-bound.
constexpr uint32_t kDraftMaxBatchCpu = 2;
constexpr uint32_t kDraftMaxBatchGpu = 8;

// The name clients use for the model: the plan file's or checkpoint directory's name.
std::string default_model_name(const std::string& model) {
  std::filesystem::path p(model);
  while (!p.empty() && p.filename().empty()) p = p.parent_path();
  std::string name = p.extension() == ".r1vk" ? p.stem().string() : p.filename().string();
  return name.empty() ? "r1vk" : name;
}

// Waits for SIGINT, SIGTERM or SIGHUP on its own thread (they are blocked everywhere else). The first asks
// for a graceful shutdown (taken up once the model is loaded, if it came during the load); a
// second one exits at once (status 130), removing a plan being compiled into the cache.
class ShutdownSignal {
 public:
  ShutdownSignal() {
    sigemptyset(&set_);
    sigaddset(&set_, SIGINT);
    sigaddset(&set_, SIGTERM);
    sigaddset(&set_, SIGHUP);  // a closed terminal: shut down as for SIGTERM
    pthread_sigmask(SIG_BLOCK, &set_, nullptr);  // before any other thread exists: they inherit it
    thread_ = std::thread([this] {
      for (int count = 0;; ++count) {
        int sig = 0;
        sigwait(&set_, &sig);
        std::lock_guard lock(mutex_);
        if (closing_) return;
        if (count > 0 || immediate_) {
          std::fprintf(stderr, "r1vk serve: %s: exiting now\n", immediate_ ? "signal to a pipeline rank > 0" : "second signal");
          remove_temp_files_now();  // a plan being compiled into the cache is not left half-written
          std::_Exit(130);
        }
        fired_ = true;
        cv_.notify_all();
      }
    });
  }
  ~ShutdownSignal() {
    {
      std::lock_guard lock(mutex_);
      closing_ = true;
    }
    pthread_kill(thread_.native_handle(), SIGTERM);  // wakes the waiting thread, which returns
    thread_.join();
    pthread_sigmask(SIG_UNBLOCK, &set_, nullptr);
  }
  // A pipeline rank > 0 has nothing to shut down gracefully (rank 0 stops it): a signal ends it.
  void exit_on_first() {
    std::lock_guard lock(mutex_);
    immediate_ = true;
  }
  void wait() {
    std::unique_lock lock(mutex_);
    cv_.wait(lock, [&] { return fired_; });
  }
  // True once a signal came; false after `timeout` without one.
  bool wait_for(std::chrono::milliseconds timeout) {
    std::unique_lock lock(mutex_);
    return cv_.wait_for(lock, timeout, [&] { return fired_; });
  }

 private:
  sigset_t set_;
  std::mutex mutex_;
  std::condition_variable cv_;
  bool fired_ = false;
  bool closing_ = false;
  bool immediate_ = false;
  std::thread thread_;
};

Status run_serve(const ServeArgs& a) {
  if (a.max_batch < 1 || a.max_batch > 256) return make_error(ErrorCode::kInvalidArgument, "--max-batch must be in 1..256");
  if (a.max_connections < 1) return make_error(ErrorCode::kInvalidArgument, "--max-connections must be at least 1");
  // Every request passes through the wait queue, even into an idle batch: with room for none,
  // the server would answer 503 to everything.
  if (a.max_queue < 1) return make_error(ErrorCode::kInvalidArgument, "--max-queue must be at least 1");
  if (a.max_body_bytes < 1024) return make_error(ErrorCode::kInvalidArgument, "--max-body-bytes must be at least 1024");
  if (a.read_timeout < 1) return make_error(ErrorCode::kInvalidArgument, "--read-timeout must be at least 1 second");
  if (a.request_timeout < 1) return make_error(ErrorCode::kInvalidArgument, "--request-timeout must be at least 1 second");
  if (a.prefill_chunk < 1) return make_error(ErrorCode::kInvalidArgument, "--prefill-chunk must be at least 1");
  if (a.max_tokens_cap < 0) return make_error(ErrorCode::kInvalidArgument, "--max-tokens-cap must be >= 0");
  if (a.draft_max_batch < -1 || a.draft_max_batch > 256) {
    return make_error(ErrorCode::kInvalidArgument, "--draft-max-batch must be in 0..256 (or -1: by device type)");
  }
  R1VK_TRY(serve::check_generation_options(a.temperature, a.top_p, 1));
  if (a.pipeline.active() && a.draft.session_draft_tokens() > 0) {
    return make_error(ErrorCode::kInvalidArgument, "--draft does not apply to a pipeline (--devices/--pipeline): MTP runs on one executor");
  }
  PlanSourceOptions po;
  po.weights = a.weights;
  po.context = a.context;
  exec::BatchOptions bo;
  bo.max_batch = a.max_batch;
  bo.draft_min_acceptance = a.draft.min_acceptance;
  // Signals are blocked before MPI starts its threads, so that only our thread takes them.
  ShutdownSignal shutdown;
  // Under mpirun --pipeline, ranks > 0 only execute their stage: no HTTP server; rank 0's
  // shutdown (or its death, through mpirun) ends them. They open the model in the same order as
  // rank 0 and serve until rank 0 stops them.
  R1VK_ASSIGN_OR_RETURN(const int rank, pipeline_rank(a.pipeline));
  // Mistakes in the pipeline flags are reported before the server listens (and on every rank).
  R1VK_TRY(check_pipeline_flags(a.pipeline, a.device));
  if (rank > 0) {
    shutdown.exit_on_first();
    R1VK_ASSIGN_OR_RETURN(TextModel worker, open_text_model(a.model, po, a.device, a.offload, {}, a.pipeline, bo));
    return worker.pipeline->worker_status;
  }

  serve::http::ServerOptions so;
  so.host = a.host;
  so.port = a.port;
  so.api_key = a.api_key;
  so.model_id = a.model_name.empty() ? default_model_name(a.model) : a.model_name;
  so.max_body_bytes = a.max_body_bytes;
  so.max_connections = a.max_connections;
  so.read_timeout_s = a.read_timeout;
  so.write_timeout_s = a.read_timeout;
  so.request_timeout_s = a.request_timeout;
  so.max_tokens_cap = a.max_tokens_cap;
  so.defaults = {a.temperature, a.top_p};

  // A client that closes its socket must not kill the server with SIGPIPE.
  signal(SIGPIPE, SIG_IGN);
  serve::http::HttpServer server(so);
  R1VK_ASSIGN_OR_RETURN(const int port, server.bind());
  std::printf("r1vk serve: listening on %s (loading %s)\n", serve::http::listen_url(a.host, port).c_str(), a.model.c_str());
  std::fflush(stdout);
  Status http_status = ok_status();
  std::thread http([&] { http_status = server.run(); });
  auto stop_http = [&] {
    server.stop();
    http.join();
  };

  // The executor's KV pool and activations are placed before routed experts.
  // MTP drafts for every sequence of the batch (docs/speculative.md): on by default where the
  // plan has an MTP program; asked for explicitly (--draft N > 1) on a plan without, an error.
  // A pipeline runs without drafts: there --draft N > 0 is refused.
  const int draft = a.draft.session_draft_tokens();
  const auto draft_tokens = [draft, &a](const exec::Model& m) {
    if (a.pipeline.active()) return 0u;
    return draft < 0 ? exec::default_draft_tokens(m) : static_cast<uint32_t>(draft);
  };
  auto tm = open_text_model(a.model, po, a.device, a.offload, [bo, draft_tokens](const exec::Model& m) {
    exec::BatchOptions sized = bo;
    sized.draft_tokens = draft_tokens(m);
    return exec::executor_device_bytes(m, sized);
  }, a.pipeline, bo);
  if (!tm.ok()) {
    stop_http();
    return std::move(tm).error();
  }
  const text::Tokenizer& tokenizer = *tm->tokenizer;
  auto chat = text::R1ChatFormat::from_tokenizer(tokenizer);
  std::optional<text::TokenId> eos = chat.ok() ? std::optional<text::TokenId>(chat->eos_id()) : tokenizer.eos_id();
  if (!eos) {
    stop_http();
    return make_error(ErrorCode::kUnsupported, "the tokenizer has no end-of-sentence token");
  }
  // Behind a pipeline, stage 0's model and device stand for the model (metrics: its memory).
  const exec::Model& model = tm->pipeline ? tm->pipeline->first() : *tm->model;
  vk::Context& context = tm->pipeline ? *tm->pipeline->contexts.front() : *tm->context;
  // One batched executor for every request: one queue submit per engine step, one paged KV pool.
  const uint32_t plan_rows = static_cast<uint32_t>(model.manifest().memory.prefill_chunk);
  if (a.max_batch > plan_rows) {
    stop_http();
    return make_error(ErrorCode::kInvalidArgument, "--max-batch " + std::to_string(a.max_batch) + " exceeds the plan's " +
                                                       std::to_string(plan_rows) + " rows per step (--prefill-chunk at compile)");
  }
  std::unique_ptr<serve::BatchRunner> runner;
  if (tm->pipeline) {
    runner = std::make_unique<serve::BatchRunner>(tm->pipeline->pipeline);
  } else {
    bo.draft_tokens = draft_tokens(*tm->model);
    auto executor = exec::BatchExecutor::create(*tm->model, bo);
    if (!executor.ok()) {
      stop_http();
      return std::move(executor).error();
    }
    runner = std::make_unique<serve::BatchRunner>(std::move(*executor));
  }
  serve::EngineOptions eo;
  eo.scheduler.max_waiting = a.max_queue;
  eo.scheduler.prefill_chunk = a.prefill_chunk;
  const bool cpu_device = context.caps().type == VK_PHYSICAL_DEVICE_TYPE_CPU;
  eo.scheduler.draft_max_decodes = a.draft_max_batch >= 0 ? static_cast<uint32_t>(a.draft_max_batch)
                                                          : (cpu_device ? kDraftMaxBatchCpu : kDraftMaxBatchGpu);
  serve::Engine engine(*runner, tokenizer, *eos, eo);
  engine.start();
  const vk::Allocator& allocator = context.allocator();  // thread-safe queries
  server.set_backend({&engine, &tokenizer, chat.ok() ? &*chat : nullptr, [&allocator](serve::Metrics& m) {
                        m.device_memory_allocated = allocator.bytes_allocated();
                        m.device_memory_in_use = allocator.bytes_in_use();
                        m.host_visible_memory_allocated = allocator.host_bytes_allocated();
                      }});
  const std::string drafts = bo.draft_tokens == 0 ? "off"
                                                   : "on (" + std::to_string(bo.draft_tokens) + " per sequence and step) while at most " +
                                                         std::to_string(eo.scheduler.draft_max_decodes) + " sequences decode";
  std::printf("r1vk serve: ready: model \"%s\", context %lld tokens, up to %u sequences at once, MTP drafts %s%s\n",
              so.model_id.c_str(), static_cast<long long>(model.context_length()), a.max_batch, drafts.c_str(),
              chat.ok() ? "" : " (no R1 chat format in this tokenizer: /v1/completions only)");
  std::fflush(stdout);

  // Behind an MPI pipeline a lost (dead or hung) rank ends the job: the engine has failed every
  // request with an error event and answers /health 503; the error returned here makes this rank
  // print it and call MPI_Abort, so no rank is left waiting (docs/pipeline.md). A lost device of
  // a single process keeps the server up, unhealthy, until it is stopped (docs/server.md).
  std::string pipeline_failure;
  while (!shutdown.wait_for(std::chrono::milliseconds(250))) {
    if (a.pipeline.mpi && !(pipeline_failure = engine.device_failure()).empty()) break;
  }
  std::printf("r1vk serve: %s\n", pipeline_failure.empty() ? "shutting down" : "the pipeline failed: shutting down");
  std::fflush(stdout);
  engine.stop();  // every running request ends (cancelled): streams get their error event and [DONE]
  stop_http();    // refuses new requests, lets those ends be written out, then closes the listener
  if (!pipeline_failure.empty()) return make_error(ErrorCode::kIo, pipeline_failure);
  return http_status;
}

}  // namespace

void add_serve_command(CLI::App& app, CommandFn& selected) {
  auto a = std::make_shared<ServeArgs>();
  CLI::App* sub = app.add_subcommand("serve", "Serve the model over an OpenAI-compatible HTTP API (and a chat page at /)");
  sub->add_option("model", a->model, "Plan file or checkpoint directory (default: the bundled demo model)")->capture_default_str();
  sub->add_option("--host", a->host, "Address to listen on (loopback by default; anything else exposes the server)")->capture_default_str();
  sub->add_option("--port", a->port, "TCP port; 0 picks a free one (printed on start)")->capture_default_str();
  sub->add_option("--api-key", a->api_key, "Require \"Authorization: Bearer KEY\" on /v1/*");
  sub->add_option("--model-name", a->model_name, "Model id in the API (default: the plan's or directory's name)");
  sub->add_option("--max-batch", a->max_batch, "Most sequences generating at once (1..256)")->capture_default_str();
  sub->add_option("--max-queue", a->max_queue, "Most requests waiting for a place (at least 1; every request waits there first); beyond it 503 + Retry-After")->capture_default_str();
  sub->add_option("--max-connections", a->max_connections, "Connections served at once; more wait to be accepted")->capture_default_str();
  sub->add_option("--max-body-bytes", a->max_body_bytes, "Largest request body (413 beyond; bodies must come with a Content-Length: chunked ones get 411)")->capture_default_str();
  sub->add_option("--max-tokens-cap", a->max_tokens_cap, "Most max_tokens a request may ask (0: the context length)")->capture_default_str();
  sub->add_option("--read-timeout", a->read_timeout, "Seconds a client may stay silent while sending, or not read")->capture_default_str();
  sub->add_option("--request-timeout", a->request_timeout, "Seconds a client has to send a whole request (line, headers, body)")->capture_default_str();
  sub->add_option("--prefill-chunk", a->prefill_chunk, "Most prompt tokens of one request per step")->capture_default_str();
  sub->add_option("--draft-max-batch", a->draft_max_batch,
                  "MTP drafts are verified only while at most this many sequences decode (0: never; -1: 2 on a CPU "
                  "device, 8 on a GPU, docs/server.md)")
      ->capture_default_str();
  sub->add_option("--temperature", a->temperature, "Temperature for requests that give none")->capture_default_str();
  sub->add_option("--top-p", a->top_p, "top_p for requests that give none")->capture_default_str();
  sub->add_option("--ctx", a->context, "Context length when MODEL is a checkpoint (0: min(4096, the model's positions))")->capture_default_str();
  sub->add_option("--weights", a->weights, "Weight format when MODEL is a checkpoint: f32, f16, q8, q4, fp8, auto")->capture_default_str();
  sub->add_option("--device", a->device, "Vulkan device index (see r1vk devices)");
  add_pipeline_options(*sub, a->pipeline);
  add_offload_options(*sub, a->offload);
  add_draft_options(*sub, a->draft);
  sub->callback([a, &selected] { selected = [a] { return run_serve(*a); }; });
}

}  // namespace r1vk::cli
