// A model split into pipeline stages of consecutive layers (exec/stage.h), each a BatchExecutor on
// its own device or process, driven in lockstep: every sequence operation (add, fork, free,
// rewind, seek) is applied on every stage, and a step runs stage 0 (embedding + its layers), then
// hands the step's hidden rows to the next stage, ..., and the last stage samples. The coordinator
// owns stage 0 and tracks each sequence's sampled token, since only the last stage samples. The
// stages after the first are a StageChain: in-process executors (LocalStageChain: several Vulkan
// devices) or MPI ranks (exec/mpi_stage_chain.h). Design and figures: docs/pipeline.md.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "base/status.h"
#include "exec/batch_executor.h"

namespace r1vk::exec {

// A sequence operation replicated on every stage.
struct SequenceCommand {
  enum Kind : int32_t { kAdd = 0, kFork = 1, kFree = 2, kRewind = 3, kSeek = 4 };
  Kind kind = kAdd;
  SeqId seq = 0;          // fork: the parent
  int64_t value = 0;      // fork: prefix length; rewind/seek: position
  std::vector<int32_t> prompt;  // add: the prompt offered for prefix reuse
};

// Runs `c` on `e`. Returns what every stage must agree on: for add and fork the new sequence's
// id and starting position (id << 32 | position), otherwise the sequence's position afterwards
// (0 after free).
Result<int64_t> apply_sequence_command(BatchExecutor& e, const SequenceCommand& c);

// The stages after the first, seen from the coordinator.
class StageChain {
 public:
  virtual ~StageChain() = default;
  virtual size_t stages() const = 0;  // stages in the chain (the pipeline's minus one)
  // Applies `c` on every stage of the chain; each must return `expect` (stage 0's result).
  virtual Status apply(const SequenceCommand& c, int64_t expect) = 0;
  // Starts a step: `entries` with explicit tokens, `hidden` the first stage's output rows.
  virtual Status submit(std::span<const StepEntry> entries, std::span<const float> hidden) = 0;
  virtual Result<bool> poll() = 0;
  // The last stage's sampled tokens (one per entry, -1 where not sampled); with `logits`, every
  // row's logits appended ([rows, vocab]).
  virtual Result<std::vector<int32_t>> finish(std::vector<float>* logits) = 0;
  // Seconds each stage of the chain spent in steps so far (where known, else empty).
  virtual std::vector<double> stage_seconds() const = 0;
};

// Stages as executors in this process, run one after the other (the hidden rows cross devices
// through host memory).
class LocalStageChain final : public StageChain {
 public:
  explicit LocalStageChain(std::vector<std::shared_ptr<BatchExecutor>> stages) : stages_(std::move(stages)) {}
  size_t stages() const override { return stages_.size(); }
  Status apply(const SequenceCommand& c, int64_t expect) override;
  Status submit(std::span<const StepEntry> entries, std::span<const float> hidden) override;
  Result<bool> poll() override { return true; }
  Result<std::vector<int32_t>> finish(std::vector<float>* logits) override;
  std::vector<double> stage_seconds() const override { return seconds_; }

 private:
  std::vector<std::shared_ptr<BatchExecutor>> stages_;
  std::vector<double> seconds_;
  std::vector<int32_t> tokens_;
  std::vector<float> logits_;
};

class Pipeline final : public SequenceExecutor {
 public:
  // `first` runs stage 0 (a model loaded with a stage starting at op 0), `rest` the others.
  static Result<std::unique_ptr<Pipeline>> create(std::shared_ptr<BatchExecutor> first, std::unique_ptr<StageChain> rest);

  Result<SeqId> add_sequence(std::span<const int32_t> prompt) override;
  Result<SeqId> fork_sequence(SeqId parent, int64_t prefix_len);
  Status free_sequence(SeqId seq) override;
  Result<int64_t> position(SeqId seq) const override { return first_->position(seq); }
  Result<int32_t> last_token(SeqId seq) const override;
  Status rewind(SeqId seq, int64_t position) override;
  Status seek_for_benchmark(SeqId seq, int64_t position) override;
  const BatchOptions& options() const override { return first_->options(); }
  uint32_t max_step_tokens() const override { return first_->max_step_tokens(); }
  Result<std::vector<int32_t>> step(std::span<const StepEntry> entries, std::vector<float>* logits) override;
  Status submit(std::span<const StepEntry> entries) override;
  Result<bool> poll() override;
  Result<std::vector<int32_t>> finish(std::vector<float>* logits) override;
  bool pending() const override { return pending_; }
  // Stage 0's op times (profile).
  Result<std::vector<double>> op_times_ns() const override { return first_->op_times_ns(); }
  uint32_t submits() const override { return first_->submits(); }
  // No MTP drafts in a pipeline: each sampled entry emitted its one token.
  const std::vector<std::vector<int32_t>>& emitted() const override { return emitted_; }

  size_t stages() const { return rest_->stages() + 1; }
  // Seconds each stage spent in steps so far (stage 0 first), rows stepped, and the bytes of
  // hidden rows handed between stages.
  std::vector<double> stage_seconds() const;
  uint64_t rows_stepped() const { return rows_; }
  uint64_t hidden_bytes_sent() const { return hidden_bytes_; }

 private:
  Pipeline(std::shared_ptr<BatchExecutor> first, std::unique_ptr<StageChain> rest)
      : first_(std::move(first)), rest_(std::move(rest)) {}
  // Free, rewind or seek on every stage.
  Status replicate(const SequenceCommand& c);

  std::shared_ptr<BatchExecutor> first_;
  std::unique_ptr<StageChain> rest_;
  std::vector<int32_t> last_;  // per sequence: the last stage's sampled token, -1 none
  bool pending_ = false;
  std::vector<SeqId> pending_seqs_;
  std::vector<bool> pending_sample_;
  std::vector<std::vector<int32_t>> emitted_;
  double first_seconds_ = 0;
  uint64_t rows_ = 0, hidden_bytes_ = 0;
};

}  // namespace r1vk::exec
