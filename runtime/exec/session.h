// One conversation's state on a loaded model: its own KV cache, activation arena and I/O
// buffer, and command buffers recorded once (a decode step, a prefill chunk) and resubmitted.
// A decode step is one queue submit: the token the sampler chose is already the next step's
// input on the device, and the host only writes the step's position and reads the new token.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "base/status.h"
#include "exec/model.h"
#include "exec/program_recorder.h"
#include "vulkan/buffer.h"
#include "vulkan/command_buffer.h"

namespace r1vk::exec {

struct Sampling {
  float temperature = 0.0f;  // <= 0: greedy
  float top_p = 1.0f;
  uint32_t top_k = 0;
  uint32_t seed = 0;
};

struct SessionOptions {
  bool keep_logits = false;  // copy every row's logits back to the host (logits, ppl)
  bool profile = false;      // timestamp every op of the decode step (bench)
};

class Session {
 public:
  static Result<std::unique_ptr<Session>> create(Model& model, const SessionOptions& options = {});

  int64_t position() const { return position_; }
  int64_t context_length() const { return model_.context_length(); }
  int32_t last_token() const { return last_token_; }

  // Runs `tokens` at the current position (prefill chunks; one token uses the decode command
  // buffer) and samples the next token from the last row. With keep_logits, `logits` receives
  // [tokens.size(), vocab]. Refuses to go past the context with an error, leaving state as is.
  Status feed(std::span<const int32_t> tokens, const Sampling& sampling, std::vector<float>* logits = nullptr);

  // One decode step on the token sampled last: submit, wait, return the next sampled token.
  Result<int32_t> step(const Sampling& sampling, std::vector<float>* logits = nullptr);

  // Non-blocking decode step: submit now, poll() later; the render loop never waits.
  Status submit_step(const Sampling& sampling);
  // True when the submitted step finished (its token is then last_token()).
  Result<bool> poll();

  // Forgets the context (position 0); cache contents are overwritten as new tokens arrive.
  void reset();

  // Moves back to `position` (at most the current one), keeping the cache of the tokens before
  // it, so a conversation that shares that prefix continues without feeding it again. The next
  // call must be feed (there is no sampled token to step from).
  Status rewind(int64_t position);

  // Benchmarks only: moves to `position` as if that many tokens had been fed (the cache holds
  // whatever it held), so decode speed at a long context can be timed without a long prefill.
  Status seek_for_benchmark(int64_t position);

  // With SessionOptions::profile: nanoseconds each op of the last decode step took.
  Result<std::vector<double>> decode_op_times_ns() const;

  uint32_t submits() const { return submits_; }

 private:
  explicit Session(Model& model) : model_(model) {}
  Status record(vk::CommandBuffer& cmd, uint32_t max_tokens, const vk::TimestampQueryPool* timestamps);
  Status run_chunk(std::span<const int32_t> tokens, bool token_on_device, const Sampling& sampling, std::vector<float>* logits,
                   bool wait);
  void write_step(uint32_t n_tokens, const Sampling& sampling);
  Status finish_chunk(uint32_t n_tokens, std::vector<float>* logits);

  Model& model_;
  SessionOptions options_;
  vk::Buffer arena_;
  std::vector<vk::Buffer> kv_;
  vk::Buffer scratch_;
  vk::Buffer sample_scratch_;
  vk::Buffer io_;         // host-visible: StepParams, token inputs, sampled token
  vk::Buffer readback_;   // host-visible logits rows (keep_logits)
  vk::CommandBuffer decode_cmd_;
  vk::TimestampQueryPool decode_timestamps_;
  vk::CommandBuffer prefill_cmd_;
  uint32_t chunk_ = 1;
  int64_t position_ = 0;
  int32_t last_token_ = -1;
  uint32_t rng_counter_ = 0;
  uint32_t submits_ = 0;
  uint64_t pending_ = 0;      // timeline value of a submitted, unfinished step
  uint32_t pending_tokens_ = 0;
};

}  // namespace r1vk::exec
