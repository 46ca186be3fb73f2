// Decides what runs in the next step (continuous batching): every running sequence that has
// finished its prompt decodes one token; sequences still in their prompt get a prefill chunk
// from the step's token budget, so new prompts enter the batch mixed with ongoing decodes; and
// waiting sequences are admitted, first come first served, while the runner has a free slot and
// the KV pool can hold their prompt plus max_tokens (reserved at admission, so a running
// sequence never runs out of blocks and nothing is ever preempted). The wait queue is bounded.
// Prompt chunks are sized to the executor's row-count buckets where that costs little delay, so
// a step is not padded to a much larger bucket (StepRunner::step_rows).
// With N MTP drafts per sequence (StepRunner::draft_tokens) a decode that needs at least two
// more tokens also verifies n = min(N, tokens left - 1) drafts: 1 + n rows of the step's
// budget, taken before prompt chunks (a verified draft costs far less than the decode step it
// saves). n never asks for a token past max_tokens, so the verified rows stay inside the blocks
// reserved for the sequence and inside the context (max_tokens is capped at the context left
// after the prompt): the last draft sits at most at position prompt + max_tokens - 2.
// Drafts are verified only while at most `draft_max_decodes` sequences decode: a verify row is
// nearly free where a step is bound by weight reads (small batches on a GPU), but costs a full
// row of compute where it is not (a CPU device, or a batch already wide enough to be
// compute-bound), and then the saved steps no longer pay for the extra rows (docs/server.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <deque>
#include <vector>

#include "base/status.h"
#include "serve/sequence.h"
#include "serve/step_runner.h"

namespace r1vk::serve {

struct SchedulerOptions {
  size_t max_waiting = 64;            // the wait queue's bound; submit is refused beyond it
  uint32_t prefill_chunk = 256;       // most prompt tokens one sequence feeds in one step
  uint32_t step_token_budget = 512;   // most tokens (decode + prefill) one step carries
  uint32_t draft_max_decodes = UINT32_MAX;  // drafts only while at most this many sequences decode
};

// One entry of a planned step: which sequence and how many prompt tokens (0: one decode token,
// with `drafts` > 0 verifying up to that many of the sequence's MTP drafts too).
struct ScheduledSequence {
  Sequence* sequence = nullptr;
  size_t prefill_tokens = 0;
  uint32_t drafts = 0;
};

class Scheduler {
 public:
  explicit Scheduler(const SchedulerOptions& options) : options_(options) {}

  // Blocks a sequence needs for its prompt plus max_tokens (capped at the context).
  static size_t blocks_needed(const Sequence& s, const StepRunner& runner);

  // Refused (kOutOfMemory) when the wait queue is full; kOutOfRange when the request could never
  // fit the pool even alone.
  Status enqueue(Sequence* s, const StepRunner& runner);

  // Admits what fits, then plans the step. Admission calls runner.add_sequence().
  Result<std::vector<ScheduledSequence>> schedule(StepRunner& runner);

  // Takes a finished or cancelled sequence out of the queue or the batch, freeing its blocks.
  void remove(Sequence* s, StepRunner& runner);

  size_t waiting() const { return waiting_.size(); }
  size_t running() const { return running_.size(); }
  size_t reserved_blocks() const { return reserved_; }
  const std::deque<Sequence*>& waiting_queue() const { return waiting_; }
  const std::vector<Sequence*>& running_batch() const { return running_; }

 private:
  // The prompt tokens to feed beside `decodes` decode rows when `wanted` could be fed, so that
  // the step is not padded much past its rows (StepRunner::step_rows).
  static uint32_t prefill_budget(uint32_t decodes, uint32_t wanted, const StepRunner& runner);

  SchedulerOptions options_;
  std::deque<Sequence*> waiting_;
  std::vector<Sequence*> running_;
  size_t reserved_ = 0;
};

}  // namespace r1vk::serve
