// What the serving engine needs from an executor: one step over a batch of sequences, with the
// shape and semantics of exec::BatchExecutor (BatchRunner implements it on the executor; a fake
// stands in for the device in the engine's unit tests).
// Sequences hold KV blocks of block_tokens() tokens each from a shared pool of total_blocks().
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "exec/session.h"

namespace r1vk::serve {

using SeqId = uint32_t;

struct StepEntry {
  SeqId seq = 0;
  // Tokens fed this step at the sequence's position (a prefill chunk); empty: the token sampled
  // for this sequence last step (already on the device), one decode token.
  std::span<const int32_t> tokens;
  exec::Sampling sampling;
  bool sample = true;  // sample a next token from this entry's last row
  // A decode entry (tokens empty) of a runner with draft_tokens(): verify up to this many of the
  // sequence's MTP drafts as rows 2..1 + drafts, so the step may emit up to 1 + drafts tokens
  // (exec::StepEntry::speculate and max_drafts). 0: a plain decode row.
  uint32_t drafts = 0;
};

class StepRunner {
 public:
  virtual ~StepRunner() = default;

  // A new sequence for `prompt`; fails (kOutOfMemory) when no more sequences fit. It may start
  // past position 0 when a cached prefix of the prompt is reused: position() says how many
  // prompt tokens are already in its cache (always fewer than the prompt's length).
  virtual Result<SeqId> add_sequence(std::span<const int32_t> prompt) = 0;
  // Returns the sequence's blocks to the pool. Unknown ids are ignored.
  virtual void free_sequence(SeqId seq) = 0;
  // Tokens already in the sequence's cache.
  virtual int64_t position(SeqId seq) const = 0;

  virtual size_t free_blocks() const = 0;
  virtual size_t total_blocks() const = 0;
  virtual uint32_t block_tokens() const = 0;
  // The most tokens one sequence can hold (the plan's context length).
  virtual int64_t context_length() const = 0;
  // The most sequences one step can carry, and the most tokens (rows) it can feed in all.
  virtual uint32_t max_batch() const = 0;
  virtual uint32_t max_step_tokens() const = 0;
  // The rows a step feeding `rows` tokens costs: an executor that replays command buffers
  // recorded for a few row counts pads a step to the smallest that holds it. Default: no padding.
  virtual uint32_t step_rows(uint32_t rows) const { return rows; }

  // MTP speculative decoding: the most drafts a decode entry may verify (StepEntry::drafts; the
  // executor's BatchOptions::draft_tokens), and the drafts verified and accepted so far. A
  // sequence may hold fewer drafts than this in a step (then fewer are verified). Default: 0, no
  // drafts.
  virtual uint32_t draft_tokens() const { return 0; }
  virtual exec::DraftStats draft_stats() const { return {}; }

  // Runs every entry in one step; returns per entry the tokens it emitted, in order: none where
  // sample=false, else the sampled token, or 1 + a after a accepted drafts (the drafts, then the
  // token sampled after the last of them). The KV cache holds every emitted token but the last,
  // as after plain steps. Fails without changing any sequence when the pool has too few free
  // blocks for the step.
  virtual Result<std::vector<std::vector<int32_t>>> step(std::span<const StepEntry> entries) = 0;

  // Empty while the runner can run steps; else why it cannot run anything more: its device was
  // lost, a pipeline rank died or stopped answering, a step never finished. The engine asks after
  // a failed step or admission and fails everything only then: any other error (a Vulkan call
  // out of memory, an I/O error) fails the requests it met and the next step runs as usual.
  virtual std::string lost() const = 0;
};

}  // namespace r1vk::serve
