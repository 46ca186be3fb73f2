// The engine's StepRunner on the batched executor: every engine step is one
// exec::BatchExecutor::step, one queue submit for all running sequences (decode tokens and
// prompt chunks mixed), over one paged KV pool. A new sequence reuses the cached full KV blocks
// of an earlier prompt with the same leading tokens (prefix reuse), so a shared system prompt or
// chat history is not prefilled again. With an executor created with MTP drafts
// (BatchOptions::draft_tokens), decode entries that ask for it verify up to as many of their
// sequence's drafts as they ask (exec::StepEntry::max_drafts).
// Behind a pipeline (exec/pipeline.h: stages on several devices or MPI ranks) a step is the
// pipeline's step (without drafts); the block pool every stage agrees on is read from stage 0's
// executor.
#pragma once

#include <memory>

#include "exec/batch_executor.h"
#include "exec/pipeline.h"
#include "serve/step_runner.h"

namespace r1vk::serve {

class BatchRunner final : public StepRunner {
 public:
  explicit BatchRunner(std::unique_ptr<exec::BatchExecutor> executor);
  explicit BatchRunner(std::shared_ptr<exec::Pipeline> pipeline);

  Result<SeqId> add_sequence(std::span<const int32_t> prompt) override;
  void free_sequence(SeqId seq) override;
  int64_t position(SeqId seq) const override;
  size_t free_blocks() const override { return ex_->free_blocks(); }
  size_t total_blocks() const override { return ex_->total_blocks(); }
  uint32_t block_tokens() const override { return ex_->block_tokens(); }
  int64_t context_length() const override { return ex_->context_length(); }
  uint32_t max_batch() const override { return ex_->max_batch(); }
  uint32_t max_step_tokens() const override { return ex_->max_step_tokens(); }
  // The executor's row-count buckets (BatchExecutor::bucket_rows): powers of two below the
  // plan's chunk, then the chunk.
  uint32_t step_rows(uint32_t rows) const override;
  uint32_t draft_tokens() const override { return steps_->mtp() ? steps_->options().draft_tokens : 0; }
  exec::DraftStats draft_stats() const override { return steps_->draft_stats(); }
  Result<std::vector<std::vector<int32_t>>> step(std::span<const StepEntry> entries) override;
  // The device's loss (vk::Context::lost()), behind a pipeline any stage's device or rank
  // (exec::Pipeline::lost()), or a step that failed while still running on the device (its wait
  // timed out: the executor accepts no step until it ends).
  std::string lost() const override;

 private:
  std::shared_ptr<exec::SequenceExecutor> steps_;  // the executor or the pipeline
  std::shared_ptr<exec::Pipeline> pipeline_;       // set behind a pipeline
  std::string stuck_;                              // see lost()
  const exec::BatchExecutor* ex_;                   // the block pool, sequence slots and buckets: stage 0's
};

}  // namespace r1vk::serve
