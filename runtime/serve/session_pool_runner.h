// TEMPORARY StepRunner until the batched executor (issue 13, exec::BatchExecutor) lands: one
// exec::Session per running sequence, and a "step" runs the entries one after another, one
// queue submit each. It has the step semantics of the batched executor, so the engine, the
// scheduler and the HTTP layer do not change when it is replaced, but it does not batch: at
// concurrency 16 the aggregate tokens/s is about that of one sequence.
//
// Every Session holds a whole context of KV, so the "blocks" here are bookkeeping only: each
// sequence owns ceil(context / block_tokens) of them, counted as used as its position grows.
#pragma once

#include <memory>
#include <unordered_map>

#include "exec/model.h"
#include "exec/session.h"
#include "serve/step_runner.h"

namespace r1vk::serve {

class SessionPoolRunner final : public StepRunner {
 public:
  // `model` must outlive the runner. At most `max_batch` sequences at once.
  SessionPoolRunner(exec::Model& model, uint32_t max_batch, uint32_t block_tokens = 16);

  Result<SeqId> add_sequence() override;
  void free_sequence(SeqId seq) override;
  int64_t position(SeqId seq) const override;
  size_t free_blocks() const override;
  size_t total_blocks() const override { return blocks_per_sequence() * max_batch_; }
  uint32_t block_tokens() const override { return block_tokens_; }
  int64_t context_length() const override { return model_.context_length(); }
  uint32_t max_batch() const override { return max_batch_; }
  Result<std::vector<int32_t>> step(std::span<const StepEntry> entries) override;

 private:
  size_t blocks_per_sequence() const;
  size_t blocks_for(int64_t tokens) const { return static_cast<size_t>((tokens + block_tokens_ - 1) / block_tokens_); }

  exec::Model& model_;
  uint32_t max_batch_;
  uint32_t block_tokens_;
  // A fresh Session per sequence, so each starts with the sampler's counter at zero and a seeded
  // request gives the same text as `r1vk run --seed`.
  std::unordered_map<SeqId, std::unique_ptr<exec::Session>> sessions_;
  SeqId next_ = 1;
};

}  // namespace r1vk::serve
