// A model split into pipeline stages of consecutive layers (exec/stage.h), each a BatchExecutor on
// its own device or process, driven in lockstep: every sequence operation (add, fork, free,
// rewind, seek) is applied on every stage, and a step runs stage 0 (embedding + its layers), then
// hands the step's hidden rows to the next stage, ..., and the last stage samples. The coordinator
// owns stage 0 and tracks each sequence's sampled token, since only the last stage samples. The
// stages after the first are a StageChain: in-process executors (LocalStageChain: several Vulkan
// devices) or MPI ranks (mpi/mpi_pipeline.h). A step of several entries is cut into micro-batches
// (groups of consecutive entries) that flow through the stages one after the other, so that stage
// k works on micro-batch i + 1 while stage k + 1 works on micro-batch i. Design and figures:
// docs/pipeline.md.
#pragma once

#include <atomic>
#include <cstdint>
#include <deque>
#include <memory>
#include <optional>
#include <chrono>
#include <span>
#include <string>
#include <thread>
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

// The stages after the first, seen from the coordinator. Several (micro-batch) steps may be in
// flight: finish() returns their results in submission order.
class StageChain {
 public:
  virtual ~StageChain() = default;
  virtual size_t stages() const = 0;  // stages in the chain (the pipeline's minus one)
  // Called once by Pipeline::create with stage 0's executor.
  virtual void set_first_stage(const BatchExecutor& first) { (void)first; }
  // Applies `c` on every stage of the chain; each must return `expect` (stage 0's result). No
  // step may be in flight.
  virtual Status apply(const SequenceCommand& c, int64_t expect) = 0;
  // Starts a step: `entries` with explicit tokens, `hidden` the first stage's output rows. Both
  // are copied (or sent) before it returns.
  virtual Status submit(std::span<const StepEntry> entries, std::span<const float> hidden) = 0;
  // True when finish() would return the oldest step's tokens without waiting for a stage.
  virtual Result<bool> poll() = 0;
  // The oldest unfinished step's sampled tokens from the last stage (one per entry, -1 where not
  // sampled); with `logits`, every row's logits appended ([rows, vocab]).
  virtual Result<std::vector<int32_t>> finish(std::vector<float>* logits) = 0;
  // Seconds each stage of the chain spent in steps so far (where known, else empty).
  virtual std::vector<double> stage_seconds() const = 0;
  // Empty while every stage of the chain can run; else why one cannot run anything more (its
  // device was lost, its process died or stopped answering), so neither can the pipeline.
  virtual std::string lost() const = 0;
};

// Stages as executors in this process (the hidden rows cross devices through host memory). Work
// moves in ticks: in a tick every stage that holds a micro-batch runs it, then each batch moves
// to the next stage (the last stage's to the results). A tick runs on its own threads, one per
// stage, while the coordinator runs stage 0 on the next micro-batch; where two stages share a
// Vulkan context (one queue: no concurrent submits) its stages run one after the other instead.
class LocalStageChain final : public StageChain {
 public:
  explicit LocalStageChain(std::vector<std::shared_ptr<BatchExecutor>> stages);
  ~LocalStageChain() override;
  size_t stages() const override { return stages_.size(); }
  void set_first_stage(const BatchExecutor& first) override;
  Status apply(const SequenceCommand& c, int64_t expect) override;
  Status submit(std::span<const StepEntry> entries, std::span<const float> hidden) override;
  Result<bool> poll() override;
  Result<std::vector<int32_t>> finish(std::vector<float>* logits) override;
  std::vector<double> stage_seconds() const override { return seconds_; }
  // The first lost device among the stages' contexts (vk::Context::lost()).
  std::string lost() const override;
  // Whether ticks run beside the coordinator (every stage on a context of its own).
  bool overlapped() const { return overlap_; }

 private:
  // A micro-batch on its way: its entries (tokens copied), its rows into the stage it waits for
  // (then out of it), and at the end the sampled tokens and logits.
  struct Batch {
    std::vector<int32_t> tokens;
    std::vector<StepEntry> entries;  // spans into tokens
    std::vector<float> rows;
    std::vector<int32_t> sampled;
    std::vector<float> logits;
  };
  Status run(size_t stage, Batch& b);
  void launch();       // starts a tick over the occupied stages
  Status join();       // waits for the running tick and moves every batch on
  bool occupied() const;

  std::vector<std::shared_ptr<BatchExecutor>> stages_;
  std::vector<double> seconds_;
  std::vector<std::optional<Batch>> at_;  // the batch each stage runs in the next (or running) tick
  std::deque<Batch> done_;
  std::vector<std::thread> threads_;
  std::atomic<size_t> finished_{0};       // threads of the running tick that have returned
  std::vector<Status> status_;            // per stage, of the running tick
  bool running_ = false;
  bool overlap_ = false;
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
  // Empty while every stage can run; else why the pipeline cannot run anything more: stage 0's
  // device was lost (vk::Context::lost()), or a stage of the chain was (StageChain::lost()).
  std::string lost() const;
  // Stage 0's executor: its block pool, sequence slots and row buckets are every stage's.
  const BatchExecutor& first_stage() const { return *first_; }
  // Micro-batches per step of several entries: up to `m` groups of consecutive entries, of about
  // equal rows. 1: off; 0 (the default): one per stage. Steps that keep logits are not cut (the
  // last stage's large logits messages would queue behind the next micro-batch's hidden rows).
  void set_micro_batches(uint32_t m) { micro_batches_ = m; }
  uint32_t micro_batches() const { return micro_batches_ ? micro_batches_ : static_cast<uint32_t>(stages()); }
  // Wall seconds from each step's submit to its finish: each stage's busy fraction (its
  // utilisation) is stage_seconds()[k] / step_seconds().
  double step_seconds() const { return step_seconds_; }
  uint64_t micro_batches_run() const { return micro_batches_run_; }
  uint64_t steps() const { return steps_; }  // steps finished
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
  size_t pending_groups_ = 0;  // micro-batches submitted to the chain by the pending step
  std::chrono::steady_clock::time_point pending_since_;
  uint32_t micro_batches_ = 0;
  double step_seconds_ = 0;
  uint64_t micro_batches_run_ = 0;
  uint64_t steps_ = 0;
  std::vector<std::vector<int32_t>> emitted_;
  double first_seconds_ = 0;
  uint64_t rows_ = 0, hidden_bytes_ = 0;
};

}  // namespace r1vk::exec
