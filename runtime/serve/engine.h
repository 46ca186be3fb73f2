// The serving engine: owns the requests in flight, runs the loop thread that asks the Scheduler
// for a step, runs it on the StepRunner, and turns each sampled token into text on the request's
// stream (one token per sequence and step, or 1 + a after a accepted MTP drafts). Clients (the HTTP
// layer, tests) only submit requests and read or cancel their streams; the engine knows nothing
// of HTTP.
#pragma once

#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "exec/session.h"
#include "serve/metrics.h"
#include "serve/request_stream.h"
#include "serve/scheduler.h"
#include "serve/sequence.h"
#include "serve/step_runner.h"
#include "text/tokenizer.h"

namespace r1vk::serve {

struct GenerationRequest {
  std::vector<int32_t> prompt;  // token ids, not empty
  exec::Sampling sampling;
  int64_t max_tokens = 256;     // >= 1; capped by the context left after the prompt
  OutputTextOptions text;       // reasoning split, stop strings
};

struct EngineOptions {
  SchedulerOptions scheduler;
};

class Engine {
 public:
  // `runner` and `tokenizer` must outlive the engine. `end_of_sentence` ends a sequence.
  Engine(StepRunner& runner, const text::Tokenizer& tokenizer, text::TokenId end_of_sentence, const EngineOptions& options);
  ~Engine();
  Engine(const Engine&) = delete;
  Engine& operator=(const Engine&) = delete;

  // Starts the loop thread.
  void start();
  // Cancels every request (their streams finish with kCancelled) and joins the loop thread.
  void stop();

  // Queues a request. Errors: kInvalidArgument (empty prompt, max_tokens < 1), kOutOfRange (the
  // prompt fills the context, or the request needs more KV blocks than the pool has),
  // kOutOfMemory (the wait queue is full: try again later), kCancelled (the engine is stopping),
  // kVulkan (the device failed: device_failure()).
  Result<std::shared_ptr<RequestStream>> submit(GenerationRequest request);

  // Wakes the loop so that a cancelled stream is dropped now rather than at the next step.
  void notify();

  // Empty while the engine can serve; once a step or admission failed and the runner says it can
  // run nothing more (StepRunner::lost(): a lost device or pipeline rank), why. From then on
  // every request is refused or failed with kVulkan, and the server reports itself unhealthy.
  // Any other runner error fails only the requests it met.
  std::string device_failure() const;

  Metrics& metrics() { return metrics_; }
  int64_t context_length() const { return runner_.context_length(); }

 private:
  void loop();
  // One step: plan under the lock, run outside it, deliver the tokens. False when idle.
  void run_step(std::unique_lock<std::mutex>& lock);
  // After a runner error: when the runner is lost (a device or pipeline rank), every sequence
  // and the engine fail.
  void fail_if_lost();
  void drop_cancelled();
  void finish(Sequence* s, FinishReason reason, std::string error = {});
  // Streams one generated token, `later` tokens of the same step still to come after it (the
  // cache holds them already); false when it ended the request (`s` is then gone).
  bool deliver(Sequence* s, int32_t token, int64_t later);
  void update_gauges();

  StepRunner& runner_;
  const text::Tokenizer& tokenizer_;
  text::TokenId eos_;
  Scheduler scheduler_;
  Metrics metrics_;

  mutable std::mutex mutex_;  // guards sequences_, scheduler_, stopping_, next_id_, device_failure_
  std::condition_variable wake_;
  std::unordered_map<uint64_t, std::unique_ptr<Sequence>> sequences_;
  uint64_t next_id_ = 1;
  bool stopping_ = false;
  std::string device_failure_;  // guarded by mutex_; see device_failure()
  std::thread thread_;
};

}  // namespace r1vk::serve
