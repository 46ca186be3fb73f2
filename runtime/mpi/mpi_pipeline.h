// A pipeline across MPI ranks: rank r of MPI_COMM_WORLD runs stage r. Rank 0 (the coordinator:
// tokenization, scheduling, stage 0) sends every sequence operation and step to every other rank;
// the step's hidden rows go from rank r to rank r + 1 and the last rank sends the sampled tokens
// (and logits when asked) back to rank 0. Every rank reports each finished step to rank 0, so a
// rank that dies or hangs is named: rank 0 waits at most `timeout_s` for each report and fails
// with "pipeline rank N lost". Errors are returned (MPI_ERRORS_RETURN), never hang; after one,
// the job must end with abort_world(). Wire format and figures: docs/pipeline.md.
#pragma once

#include <cstdint>
#include <deque>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "exec/batch_executor.h"
#include "exec/pipeline.h"

namespace r1vk::mpi {

struct World {
  int rank = 0;
  int size = 1;
};

// MPI_Init (once per process) with MPI_ERRORS_RETURN on MPI_COMM_WORLD.
Result<World> init_world();
bool world_initialized();
// Ends MPI cleanly (MPI_Finalize) when every rank finished; after an error, abort_world instead.
void finalize_world();
// Ends every rank of the job with `code` (MPI_Abort), after printing
// "r1vk: pipeline rank R aborts the MPI job (exit code C)" to stderr.
[[noreturn]] void abort_world(int code);

// Every rank's value, in rank order (MPI_Allgather; collective).
Result<std::vector<double>> all_gather(double value);
// Blocks until every rank arrives (collective).
Status barrier();

// Rank 0's view of ranks 1..size-1.
class MpiStageChain final : public exec::StageChain {
 public:
  // hidden: the stages' hidden width; vocab: logits columns; keep_logits: the last rank sends logits.
  MpiStageChain(World world, int64_t hidden, int64_t vocab, bool keep_logits, double timeout_s);
  // Tells every rank to stop (unless a rank was lost).
  ~MpiStageChain() override;

  size_t stages() const override { return static_cast<size_t>(world_.size - 1); }
  Status apply(const exec::SequenceCommand& c, int64_t expect) override;
  Status submit(std::span<const exec::StepEntry> entries, std::span<const float> hidden) override;
  Result<bool> poll() override;
  Result<std::vector<int32_t>> finish(std::vector<float>* logits) override;
  std::vector<double> stage_seconds() const override { return seconds_; }
  // The failure that lost a rank (it died, hung past timeout_s or its messages failed), naming it.
  std::string lost() const override { return lost_; }

 private:
  // Records `error` as the lost rank's (the first one stays) and returns it.
  Error lose(Error error);
  Status send_all(const std::vector<int64_t>& command);
  World world_;
  int64_t hidden_, vocab_;
  bool keep_logits_;
  double timeout_s_;
  std::string lost_;  // empty: every rank answers
  std::deque<uint32_t> pending_rows_;  // per step in flight (micro-batches), oldest first
  std::vector<double> seconds_;  // per rank 1..: seconds its step reports say it spent
};

// Ranks > 0: runs `stage` as told by rank 0 until it says stop. Returns an error (naming the rank
// it waited for) when a peer does not answer within timeout_s during a step.
Status serve_stage(World world, exec::BatchExecutor& stage, double timeout_s);

}  // namespace r1vk::mpi
