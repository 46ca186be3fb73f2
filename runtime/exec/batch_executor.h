// Runs many sequences of one loaded model together: each step is one queue submit in which every
// entry (a sequence feeding k >= 1 tokens: a prefill chunk, a decode token, a verification run)
// contributes rows at its own positions, and the sampler picks a token per sampled entry. The KV
// cache is paged: per cache layer one pool of fixed-size blocks shared by all sequences, a block
// table per step on the device (shaders/step.glsl). Command buffers are recorded once per
// row-count bucket (1, 2, 4, ... up to the plan's prefill chunk) and replayed; the host writes
// only the step's values (rows, samples, block table, tokens) before a submit. Design and limits:
// docs/batching.md. With BatchOptions::draft_tokens, every step also runs the plan's MTP program
// after the main one in the same command buffer, and a sequence can verify its MTP draft as a
// second row of its entry (speculative decoding, docs/speculative.md).
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <optional>
#include <span>
#include <vector>

#include "base/status.h"
#include "exec/block_pool.h"
#include "exec/model.h"
#include "exec/program_recorder.h"
#include "kernels/pipeline_set.h"
#include "vulkan/buffer.h"
#include "vulkan/command_buffer.h"
#include "vulkan/query_pool.h"

namespace r1vk::exec {

struct Sampling {
  float temperature = 0.0f;  // <= 0: greedy
  float top_p = 1.0f;
  uint32_t top_k = 0;
  uint32_t seed = 0;
};

inline constexpr uint32_t kMaxDraftTokens = 8;

// MTP drafts per step when none are asked for: 1 where the plan has an MTP program and its step
// has room for a verified draft (1 + 1 rows; a plan compiled with --prefill-chunk 1 has not),
// else 0. An explicit count beyond the step is refused by BatchExecutor::create instead.
uint32_t default_draft_tokens(const Model& model);

struct BatchOptions {
  uint32_t max_batch = 1;      // entries (sequences) per step, 1..the plan's prefill chunk
  uint32_t block_tokens = 32;  // positions per KV block
  // Blocks in the pool; 0: enough for max_batch sequences of the full context.
  uint32_t kv_blocks = 0;
  bool keep_logits = false;    // copy every row's logits back to the host
  bool profile = false;        // timestamp every op of the main program of every step (bench)
  // MTP draft tokens per step (speculative decoding): 0 off; N >= 1 records the plan's MTP
  // program after the main program in every bucket, so each step also drafts the token after
  // each sampled one (needs a plan with an MTP program); N > 1 then runs the MTP program N - 1
  // more times on one row per sampled entry, each from the last pass's output and draft (MTP
  // applied to its own output, as SGLang does), so a sequence holds N drafts and a step can
  // verify them all (1 + N rows). At most kMaxDraftTokens, and 1 + N must fit the step's rows.
  uint32_t draft_tokens = 0;
  // Automatic off (with draft_tokens): a sequence whose running acceptance, an exponential
  // average of its last drafts' outcomes (weight 1/8 for the newest), falls below
  // draft_min_acceptance stops drafting for its next draft_retry_steps steps; then it drafts
  // again with the average at the threshold (one more rejection pauses it again). A step in which
  // every sequence pauses runs without the MTP program (a command buffer recorded without it), so
  // a paused sequence costs what plain decoding costs; the MTP layer's cache misses the positions
  // fed meanwhile, which only makes the first drafts after a retry less likely to stand. The
  // break-even acceptance is the verify step's time over the plain step's minus 1 (`r1vk bench
  // --mtp-decode` prints it: about 0.25-0.5 on lavapipe). 0: never off.
  float draft_min_acceptance = 0.3f;
  uint32_t draft_retry_steps = 64;
  // Testing only, never set by r1vk: a deliberately wrong acceptance rule, so the sampling
  // distribution test (tests/exec/test_speculative.cpp) can show that it detects one. With
  // N > 0, draft N of a verifying step stands whenever every draft before it stood, whatever
  // the main model sampled at its place (host and mtp_accept.comp alike). 0: the exact rule.
  uint32_t test_force_accept_draft = 0;
};

// Speculative decoding counters since the executor was created.
struct DraftStats {
  uint64_t proposed = 0;  // drafts fed for verification
  uint64_t accepted = 0;  // drafts equal to the token the main model sampled at their place
  uint64_t pauses = 0;    // times a sequence stopped drafting for low acceptance
  uint64_t plain_steps = 0;  // steps run without the MTP program (every sequence paused)
  // Per draft position j (0: a sequence's first draft): drafts verified there (all before them
  // stood) and accepted, so accepted_at[j] / proposed_at[j] is the acceptance at depth j + 1
  // given the drafts before it stood.
  std::array<uint64_t, kMaxDraftTokens> proposed_at{};
  std::array<uint64_t, kMaxDraftTokens> accepted_at{};
};

using SeqId = uint32_t;

struct StepEntry {
  SeqId seq = 0;
  // Tokens fed this step (k >= 1); empty: the token sampled for this sequence last step.
  std::span<const int32_t> tokens;
  Sampling sampling;
  bool sample = true;  // sample a next token from this entry's last row
  // With draft_tokens > 0: when the entry continues from its sampled token (tokens empty) and
  // the sequence holds MTP drafts d_1..d_n, feed [sampled, d_1, .., d_n] and verify them: row i
  // is sampled with the RNG counter of the i-th next token, and d_i stands when it equals the
  // token sampled from row i - 1 and every draft before it stood; the step emits the tokens
  // sampled from the rows up to the first rejected draft's (1 + accepted tokens), and the
  // rejected rows' cache is dropped. The tokens are those plain decoding samples with the same
  // seed, greedy or not. Fewer drafts are verified where the context's end, the step's rows or
  // the free blocks do not hold them all, or max_drafts is smaller; entries without a draft run
  // as usual.
  bool speculate = false;
  // With speculate: verify at most this many of the sequence's drafts (1 + max_drafts rows), so
  // a caller that wants only a few more tokens (the server's max_tokens) pays for no rows it
  // would discard.
  uint32_t max_drafts = kMaxDraftTokens;
};

// What a client of many sequences (Session) drives: BatchExecutor on one device, or a Pipeline
// of stages (exec/pipeline.h). The operations are BatchExecutor's, documented there.
class SequenceExecutor {
 public:
  virtual ~SequenceExecutor() = default;
  virtual Result<SeqId> add_sequence(std::span<const int32_t> prompt) = 0;
  virtual Status free_sequence(SeqId seq) = 0;
  virtual Result<int64_t> position(SeqId seq) const = 0;
  virtual Result<int32_t> last_token(SeqId seq) const = 0;
  virtual Status rewind(SeqId seq, int64_t position) = 0;
  virtual Status seek_for_benchmark(SeqId seq, int64_t position) = 0;
  virtual const BatchOptions& options() const = 0;
  virtual uint32_t max_step_tokens() const = 0;
  virtual Result<std::vector<int32_t>> step(std::span<const StepEntry> entries, std::vector<float>* logits) = 0;
  virtual Status submit(std::span<const StepEntry> entries) = 0;
  virtual Result<bool> poll() = 0;
  virtual Result<std::vector<int32_t>> finish(std::vector<float>* logits) = 0;
  virtual bool pending() const = 0;
  virtual Result<std::vector<double>> op_times_ns() const = 0;
  virtual uint32_t submits() const = 0;
  // Speculative decoding (BatchExecutor only; a Pipeline runs without MTP drafts, so mtp() is
  // false and emitted() is only read when it is true).
  virtual const std::vector<std::vector<int32_t>>& emitted() const = 0;
  virtual bool mtp() const { return false; }
  virtual DraftStats draft_stats() const { return {}; }
};

class BatchExecutor : public SequenceExecutor {
 public:
  static Result<std::unique_ptr<BatchExecutor>> create(Model& model, const BatchOptions& options = {});
  // Waits for a step still in flight (one whose finish timed out) before freeing its buffers.
  ~BatchExecutor() override;

  // A fresh sequence at position 0. With `prompt`, the longest run of its leading full blocks
  // already in the cache (published by earlier sequences, held or not) is reused: the sequence
  // starts at position() = that many tokens (a multiple of block_tokens(), always leaving at least
  // the prompt's last token to feed), and the caller feeds prompt[position():].
  Result<SeqId> add_sequence(std::span<const int32_t> prompt = {}) override;
  // A new sequence holding parent's first prefix_len positions: full blocks are shared
  // (reference-counted), a partial last block is copied on the device. With prefix_len ==
  // position(parent) the child also continues from the parent's last sampled token.
  Result<SeqId> fork_sequence(SeqId parent, int64_t prefix_len);
  // Returns the sequence's blocks to the pool (published ones stay cached for prefix reuse).
  Status free_sequence(SeqId seq) override;
  // Tokens in the sequence's cache.
  Result<int64_t> position(SeqId seq) const override;
  // The token sampled for the sequence by its last step (-1: none; the next entry must feed tokens).
  Result<int32_t> last_token(SeqId seq) const override;
  // Moves back to `position` (<= the current one), keeping the cache before it; blocks past it
  // are released, a shared block it writes into next is copied first. Clears the sampled token;
  // at position 0 also the RNG counter (a reset sequence samples as a fresh one).
  Status rewind(SeqId seq, int64_t position) override;
  // Takes back the RNG draws of the sequence's last `tokens` sampled tokens (at most those it
  // drew): the tokens an accepted draft emitted that the caller drops unreturned, which plain
  // decoding never drew, so the next sampled token draws with plain decoding's counter.
  Status unsample(SeqId seq, uint32_t tokens);
  // Benchmarks only: moves to `position` as if that many tokens had been fed (blocks are taken
  // but hold whatever they held), with token 0 as the sampled token if there is none.
  Status seek_for_benchmark(SeqId seq, int64_t position) override;

  size_t free_blocks() const { return pool_.available(); }
  size_t total_blocks() const { return pool_.total(); }
  uint32_t block_tokens() const { return pool_.block_tokens(); }
  uint32_t max_batch() const { return options_.max_batch; }
  const BatchOptions& options() const override { return options_; }
  Model& model() const { return model_; }
  uint32_t max_step_tokens() const override { return max_rows_; }  // rows of one step (the plan's prefill chunk)
  // Rows of the recorded bucket a step of `rows` rows runs as (what its kernels cost): the
  // smallest power of two that holds it, or the full step.
  uint32_t bucket_rows(uint32_t rows) const;
  int64_t context_length() const { return model_.context_length(); }
  size_t live_sequences() const;

  using Entry = StepEntry;
  // One queue submit for all entries (distinct sequences, at most max_batch, at most
  // max_step_tokens() rows). Returns the sampled token per entry (-1 where sample is false).
  // With keep_logits, `logits` receives every row's logits, entries in order ([rows, vocab]).
  // Fails cleanly, changing nothing, on bad entries, a full context, or too few free blocks.
  Result<std::vector<int32_t>> step(std::span<const Entry> entries, std::vector<float>* logits = nullptr) override;

  // Non-blocking step: submit() now, poll() until true, then take the tokens with finish().
  // finish() blocks up to the context's submit timeout; a timeout is an error that leaves the
  // step pending (still running), so finish() may be called again.
  Status submit(std::span<const Entry> entries) override;
  Result<bool> poll() override;
  Result<std::vector<int32_t>> finish(std::vector<float>* logits = nullptr) override;
  bool pending() const override { return pending_ != 0; }
  // The tokens each entry of the last finished step emitted, in order: none when it did not
  // sample; its sampled token; or, after verified drafts, the accepted drafts and then the token
  // sampled after the last of them.
  // The last one is what finish() returned for the entry.
  const std::vector<std::vector<int32_t>>& emitted() const override { return emitted_; }
  bool mtp() const override { return options_.draft_tokens > 0; }
  DraftStats draft_stats() const override { return draft_stats_; }

  // With BatchOptions::profile: nanoseconds each op of the last finished step took.
  Result<std::vector<double>> op_times_ns() const override;
  // With BatchOptions::profile and draft_tokens: the same for the MTP program's ops of that step.
  Result<std::vector<double>> mtp_op_times_ns() const;
  uint32_t submits() const override { return submits_; }

  // Pipeline stages (the model loaded with ModelOptions::stage, docs/pipeline.md): the executor
  // records only the stage's ops. A stage after the first takes the step's hidden-state rows
  // ([rows, hidden] float32, entries' rows in order) from stage_input() before submit(); a stage
  // before the last leaves them in stage_output() after finish(). Only the last stage samples
  // and keeps logits; the others report -1 as every entry's token and sequence's last token.
  bool first_stage() const { return stage_.first == 0; }
  bool last_stage() const { return stage_.end == model_.manifest().main.ops.size(); }
  int64_t hidden_size() const { return hidden_width_; }
  // Copies `hidden` (rows x hidden_size() floats, at most max_step_tokens() rows) for the next submit.
  Status set_stage_input(std::span<const float> hidden);
  // The hidden rows of the last finished step (rows x hidden_size() floats), valid until the next submit.
  Result<std::span<const float>> stage_output() const;

 private:
  struct Sequence {
    bool live = false;
    std::vector<uint32_t> blocks;
    std::vector<int32_t> tokens;        // every token in the cache, in order
    std::vector<uint64_t> block_hashes; // chain hash after each published full block
    int32_t last_sampled = -1;
    std::vector<int32_t> drafts;        // MTP's guesses of the tokens after last_sampled (none: empty)
    uint32_t rng_counter = 0;
    bool cacheable = true;              // false after seek_for_benchmark: contents unknown
    float acceptance = 1.0f;            // running draft acceptance (BatchOptions::draft_min_acceptance)
    uint32_t paused = 0;                // steps left without drafting
  };
  struct Bucket {
    uint32_t rows = 0;
    vk::CommandBuffer cmd;
    vk::CommandBuffer plain_cmd;        // with MTP and automatic off: the step without the MTP program
    vk::TimestampQueryPool timestamps;  // with profile
    vk::TimestampQueryPool mtp_timestamps;  // with profile and MTP
  };
  struct PendingEntry {
    SeqId seq = 0;
    std::vector<int32_t> tokens;  // fed this step
    bool sample = false;
    uint32_t drafts = 0;          // > 0: tokens = [sampled, drafts...], every row sampled
    int64_t limit = 0;            // draft_tokens > 1: positions below this had cache blocks
  };

  BatchExecutor(Model& model, const BatchOptions& options, uint32_t blocks)
      : model_(model), options_(options), pool_(blocks, options.block_tokens) {}
  // The buffers a recorded program reads: `arena` (the main or the MTP activations), the KV pool, scratch.
  ProgramBuffers program_buffers(VkDeviceAddress arena) const;
  Status record(Bucket& bucket, vk::CommandBuffer& cmd, bool with_mtp, const vk::TimestampQueryPool* timestamps);
  Status record_mtp(Bucket& bucket, vk::CommandBuffer& cmd);
  // draft_tokens > 1: the accept kernel and the MTP passes after the first (one row per entry).
  Status record_extra_passes(vk::CommandBuffer& cmd);
  Result<Sequence*> live(SeqId seq);
  Result<const Sequence*> live(SeqId seq) const;
  // Copies every layer's rows of block `from` to block `to` (one submit, waited).
  Status copy_block(uint32_t from, uint32_t to);
  // Makes the block holding `pos` private to `s` before it is written (copy-on-write).
  Status own_block_at(Sequence& s, int64_t pos);
  void publish_full_blocks(Sequence& s);

  Model& model_;
  BatchOptions options_;
  BlockPool pool_;
  uint32_t max_rows_ = 1;
  uint32_t max_blocks_ = 1;  // blocks per sequence (block table row)
  uint32_t max_samples_ = 1;  // samples of one step: max_batch, or max_rows_ with MTP
  uint64_t tokens_offset_ = 0, sampled_offset_ = 0, head_step_offset_ = 0;
  // MTP (draft_tokens > 0): per row the token after it (the next fed token, or the sampled one,
  // which the sampler writes), the draft sampler's step (greedy samples at the main samples'
  // rows) and its tokens.
  uint64_t mtp_tokens_offset_ = 0, draft_step_offset_ = 0, drafts_offset_ = 0;
  // draft_tokens > 1: the accept kernel's entry records, the extra passes' steps (one block-table
  // row more: the trash slot) and their drafts; the MTP program's normed output value (the next
  // pass's hidden input); a second MTP arena (passes alternate) and the gathered hidden rows.
  uint64_t accept_entries_offset_ = 0, pass_steps_offset_ = 0, pass_step_bytes_ = 0, pass_drafts_offset_ = 0,
           pass_drafts_bytes_ = 0;
  int32_t mtp_normed_value_ = -1;
  uint32_t trash_block_ = 0;  // a KV block past the pool's: the extra passes' rows with no block of their own
  vk::Buffer mtp_arena2_;
  vk::Buffer draft_hidden_;
  std::unique_ptr<kernels::PipelineSet> accept_pipelines_;
  std::optional<size_t> head_op_;  // set: buckets of more rows than max_batch compact the head
  vk::Buffer head_rows_;           // [max_batch, head input cols] f32 (ProgramBuffers::head_rows)
  vk::Buffer arena_;
  vk::Buffer mtp_arena_;
  std::vector<vk::Buffer> kv_;
  vk::Buffer scratch_;
  vk::Buffer sample_scratch_;
  vk::Buffer io_;        // host-visible: encoded step, token inputs, sampled tokens
  vk::Buffer readback_;  // host-visible logits rows (keep_logits)
  std::vector<Bucket> buckets_;
  size_t last_bucket_ = 0;  // the bucket of the last submitted step
  std::vector<Sequence> seqs_;
  uint32_t submits_ = 0;
  uint64_t pending_ = 0;  // timeline value of the submitted step
  std::vector<PendingEntry> pending_entries_;
  uint32_t pending_rows_ = 0;
  bool pending_mtp_ = false;  // the submitted step runs the MTP program (its drafts are valid)
  OpRange stage_;               // the model's ops this executor records
  int64_t hidden_width_ = 0;    // columns of the residual stream crossing stages
  uint64_t hidden_offset_ = 0;  // its arena offset
  vk::Buffer stage_io_;         // host-visible hidden rows in and out (a stage of several)
  uint32_t stage_input_rows_ = 0;
  std::vector<std::vector<int32_t>> emitted_;
  DraftStats draft_stats_;
};

}  // namespace r1vk::exec
