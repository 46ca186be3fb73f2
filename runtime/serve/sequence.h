// One request's state inside the engine: its prompt, how much of it is in the KV cache, the
// tokens generated so far, its sampling and limits, and the stream its text goes to. Owned and
// touched by the engine thread only (the stream is the thread-safe part).
#pragma once

#include <chrono>
#include <cstdint>
#include <memory>
#include <vector>

#include "exec/session.h"
#include "serve/output_text.h"
#include "serve/request_stream.h"
#include "serve/step_runner.h"

namespace r1vk::serve {

enum class SequenceState { kWaiting, kRunning, kFinished };

struct Sequence {
  using Clock = std::chrono::steady_clock;

  uint64_t request_id = 0;
  SequenceState state = SequenceState::kWaiting;
  SeqId seq = 0;  // the runner's id while running

  std::vector<int32_t> prompt;
  size_t prefilled = 0;  // prompt tokens already in the cache
  int64_t generated = 0;
  int64_t reasoning_tokens = 0;
  int64_t max_tokens = 1;
  exec::Sampling sampling;
  size_t reserved_blocks = 0;  // blocks set aside at admission for prompt + max_tokens

  std::unique_ptr<OutputText> text;
  std::shared_ptr<RequestStream> stream;

  Clock::time_point submitted;
  Clock::time_point last_token_at;  // for inter-token latency

  bool prefill_done() const { return prefilled == prompt.size(); }
};

}  // namespace r1vk::serve
