// A StepRunner without a device, for engine and scheduler tests: each sequence "generates" the
// token a caller-given function picks from the sequence's history. Records every step's batch
// so tests can see what the scheduler planned.
#pragma once

#include <chrono>
#include <functional>
#include <mutex>
#include <string>
#include <unordered_map>
#include <vector>

#include "serve/step_runner.h"

namespace r1vk::serve {

struct FakeStepRunnerOptions {
  uint32_t max_batch = 4;
  size_t total_blocks = 64;
  uint32_t block_tokens = 4;
  int64_t context_length = 64;
  std::chrono::milliseconds step_delay{0};
  // Steps from this one on (0-based, failed steps counted) fail as a lost device's do (kVulkan,
  // VK_ERROR_DEVICE_LOST) and lost() says so; negative: never.
  int64_t lose_device_at_step = -1;
  // Set: add_sequence fails as a pipeline whose rank stopped answering does (kIo, "pipeline rank
  // 1 lost ...") and lost() says so, so admission, not a step, meets the failure.
  bool lose_rank_at_add = false;
  // Steps with these indices (0-based, failed steps counted) fail with `step_error` and nothing
  // is lost: an ordinary error (a Vulkan call out of memory, an I/O error) the next step
  // survives. Nothing in the step changes, as when the executor refuses a step.
  std::vector<int64_t> fail_steps;
  // The next this many add_sequence calls fail with `step_error`, nothing lost.
  int fail_adds = 0;
  ErrorCode step_error_code = ErrorCode::kIo;
  std::string step_error = "fake runner: an ordinary error";
  // Row counts a step is padded to, ascending (as the batched executor's buckets); empty: none.
  std::vector<uint32_t> step_buckets;
  // The next token of a sequence from everything in its cache so far (prompt and generated).
  std::function<int32_t(const std::vector<int32_t>& history)> next_token;
  // Set: the runner drafts as MTP does (draft_tokens() is `draft_tokens`). The guess for the
  // token after `history` (the cache and then the sampled token); after each sampled token a
  // sequence holds `draft_tokens` drafts, each guessed from the history and the drafts before it
  // (MTP applied to its own output). A decode entry with drafts > 0 verifies them as
  // exec::BatchExecutor does: up to entry.drafts of them (fewer where the context or the free
  // blocks end), fed as rows after the sampled token; each stands while next_token picks it and
  // every draft before it stood.
  std::function<int32_t(const std::vector<int32_t>& history)> draft_token;
  uint32_t draft_tokens = 1;
  // Set: a decode entry verifies every draft its sequence holds, however few it asked for (a
  // runner that emits more tokens than a request wants, so the engine's cut is what tests see).
  bool ignore_entry_drafts = false;
};

class FakeStepRunner final : public StepRunner {
 public:
  explicit FakeStepRunner(FakeStepRunnerOptions options) : o_(std::move(options)) {}

  Result<SeqId> add_sequence(std::span<const int32_t> prompt) override;
  void free_sequence(SeqId seq) override;
  int64_t position(SeqId seq) const override;
  size_t free_blocks() const override;
  size_t total_blocks() const override { return o_.total_blocks; }
  uint32_t block_tokens() const override { return o_.block_tokens; }
  int64_t context_length() const override { return o_.context_length; }
  uint32_t max_batch() const override { return o_.max_batch; }
  uint32_t max_step_tokens() const override { return o_.step_buckets.empty() ? 1u << 20 : o_.step_buckets.back(); }
  uint32_t step_rows(uint32_t rows) const override;
  uint32_t draft_tokens() const override { return o_.draft_token ? o_.draft_tokens : 0; }
  exec::DraftStats draft_stats() const override;
  Result<std::vector<std::vector<int32_t>>> step(std::span<const StepEntry> entries) override;
  std::string lost() const override;

  struct StepRecord {
    size_t entries = 0;
    size_t prefill_entries = 0;
    size_t tokens = 0;     // rows fed, verified drafts included
    size_t asked = 0;      // drafts the entries asked to verify (StepEntry::drafts)
    size_t verified = 0;   // drafts verified
    size_t accepted = 0;   // of them accepted (each one more token emitted)
  };
  std::vector<StepRecord> steps() const;
  size_t live_sequences() const;

 private:
  struct Seq {
    std::vector<int32_t> cache;
    int32_t last = -1;
    std::vector<int32_t> drafts;  // the guesses for the tokens after `last` (draft_token set)
  };
  size_t used_blocks_locked() const;

  FakeStepRunnerOptions o_;
  mutable std::mutex mutex_;  // the engine thread steps while tests read steps()
  std::unordered_map<SeqId, Seq> seqs_;
  std::vector<StepRecord> steps_;
  size_t failed_steps_ = 0;
  int failed_adds_ = 0;
  std::string lost_;
  exec::DraftStats draft_stats_;
  SeqId next_ = 1;
};

}  // namespace r1vk::serve
