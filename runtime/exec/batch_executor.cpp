#include "exec/batch_executor.h"

#include <algorithm>
#include <cstring>
#include <string>

#include "exec/executor_memory.h"
#include "exec/op_attrs.h"
#include "exec/program_recorder.h"
#include "kernels/draft_accept.h"

namespace r1vk::exec {
namespace {

uint64_t align256(uint64_t v) { return (v + 255) / 256 * 256; }

Error invalid(const std::string& what) { return Error(ErrorCode::kInvalidArgument, what); }

}  // namespace

uint32_t default_draft_tokens(const Model& model) {
  return !model.manifest().mtp.ops.empty() && step_rows(model) >= 2 ? 1u : 0u;
}

Result<std::unique_ptr<BatchExecutor>> BatchExecutor::create(Model& model, const BatchOptions& options) {
  const plan::Manifest& m = model.manifest();
  const int64_t context = model.context_length();
  const uint32_t max_rows = step_rows(model);
  if (options.max_batch == 0 || options.max_batch > max_rows) {
    return invalid("max batch " + std::to_string(options.max_batch) + " must be between 1 and the plan's " +
                   std::to_string(max_rows) + "-row step (its prefill chunk)");
  }
  if (options.block_tokens == 0 || options.block_tokens > 65536) return invalid("KV block size must be 1..65536 tokens");
  const bool mtp = options.draft_tokens > 0;
  const uint32_t extra_passes = mtp ? options.draft_tokens - 1 : 0;
  if (options.draft_tokens > kMaxDraftTokens || (mtp && options.draft_tokens + 1 > max_rows)) {
    return invalid("drafting " + std::to_string(options.draft_tokens) + " tokens per step: at most " +
                   std::to_string(std::min(kMaxDraftTokens, max_rows - 1)) + " (1 + drafts rows must fit the plan's " +
                   std::to_string(max_rows) + "-row step)");
  }
  if (!(options.draft_min_acceptance >= 0.0f && options.draft_min_acceptance <= 1.0f)) {
    return invalid("the minimum draft acceptance must be between 0 and 1");
  }
  if (options.draft_min_acceptance > 0.0f && options.draft_retry_steps == 0) {
    return invalid("the draft retry interval must be at least one step");
  }
  if (mtp) {
    const plan::Program& q = m.mtp;
    if (q.ops.empty()) return invalid("the plan has no MTP program: it cannot draft tokens (run without MTP)");
    if (q.tokens_value < 0 || q.hidden_value < 0 || q.logits_value < 0 || m.main.hidden_value < 0 ||
        q.values[static_cast<size_t>(q.hidden_value)].width != m.main.values[static_cast<size_t>(m.main.hidden_value)].width ||
        q.values[static_cast<size_t>(q.logits_value)].width != model.vocab_size()) {
      return make_error(ErrorCode::kCorruptData, "the plan's MTP program does not take the main program's hidden state");
    }
  }
  int32_t normed = -1;
  if (extra_passes > 0) {
    // The next pass reads the MTP program's normed output: the input of its output head, a
    // whole value as wide as the hidden state it takes.
    const plan::Program& q = m.mtp;
    const auto head = compactable_head_op(q);
    const int64_t width = q.values[static_cast<size_t>(q.hidden_value)].width;
    if (!head || q.ops[*head].inputs[0].col != 0 || q.ops[*head].inputs[0].cols != width ||
        q.values[static_cast<size_t>(q.ops[*head].inputs[0].value)].width != width) {
      return make_error(ErrorCode::kUnsupported, "the plan's MTP program has no normed output row to draft from again: use --draft 1");
    }
    normed = q.ops[*head].inputs[0].value;
  }
  const uint32_t max_blocks = static_cast<uint32_t>((context + options.block_tokens - 1) / options.block_tokens);
  const uint64_t blocks = options.kv_blocks ? options.kv_blocks : uint64_t{options.max_batch} * max_blocks;
  if (blocks * options.block_tokens > UINT32_MAX) return make_error(ErrorCode::kOutOfRange, "KV pool exceeds 2^32 rows");
  std::unique_ptr<BatchExecutor> e(new BatchExecutor(model, options, static_cast<uint32_t>(blocks)));
  e->max_rows_ = max_rows;
  e->max_blocks_ = max_blocks;
  e->mtp_normed_value_ = normed;
  e->trash_block_ = static_cast<uint32_t>(blocks);
  e->stage_ = model.stage();
  if (mtp && !(e->first_stage() && e->last_stage())) {
    return make_error(ErrorCode::kUnsupported, "MTP drafts need the whole model on one executor, not a pipeline stage");
  }
  // With MTP every row of a step can be sampled (a verified draft samples both of its rows).
  e->max_samples_ = mtp ? max_rows : options.max_batch;
  vk::Context& ctx = model.context();
  // The sizes the load's estimate uses too (executor_memory.h).
  const ExecutorBuffers sizes = executor_buffers(model, options);
  R1VK_ASSIGN_OR_RETURN(e->arena_, ctx.create_buffer(sizes.arena, vk::MemoryUsage::kDeviceLocal, "activation arena"));
  if (mtp) {
    R1VK_ASSIGN_OR_RETURN(e->mtp_arena_, ctx.create_buffer(sizes.mtp_arena, vk::MemoryUsage::kDeviceLocal, "MTP activation arena"));
  }
  if (extra_passes > 0) {
    R1VK_ASSIGN_OR_RETURN(e->mtp_arena2_, ctx.create_buffer(sizes.mtp_arena2, vk::MemoryUsage::kDeviceLocal,
                                                            "second MTP activation arena"));
    R1VK_ASSIGN_OR_RETURN(e->draft_hidden_, ctx.create_buffer(sizes.draft_hidden, vk::MemoryUsage::kDeviceLocal,
                                                              "MTP pass hidden rows"));
    e->accept_pipelines_ = std::make_unique<kernels::PipelineSet>(ctx);
  }
  // A stage holds only the cache layers its ops use; the others stay empty buffers.
  const bool whole = e->first_stage() && e->last_stage();
  std::vector<bool> stage_layers(static_cast<size_t>(std::max<int64_t>(m.memory.kv_layers, 0)), whole);
  for (size_t i = e->stage_.first; i < e->stage_.end; ++i) {
    const int64_t l = attr_int_or(m.main.ops[i], "layer", -1);
    if (l >= 0 && l < m.memory.kv_layers) stage_layers[static_cast<size_t>(l)] = true;
  }
  if (!whole) {
    R1VK_ASSIGN_OR_RETURN(int32_t h, stage_hidden_value(m.main));
    e->hidden_width_ = m.main.values[static_cast<size_t>(h)].width;
    e->hidden_offset_ = m.main.values[static_cast<size_t>(h)].offset;
    R1VK_ASSIGN_OR_RETURN(e->stage_io_, ctx.create_buffer(uint64_t{max_rows} * static_cast<uint64_t>(e->hidden_width_) * 4,
                                                          vk::MemoryUsage::kHostVisible, "stage hidden rows"));
  }
  for (int64_t l = 0; l < m.memory.kv_layers; ++l) {
    if (!stage_layers[static_cast<size_t>(l)]) {
      e->kv_.emplace_back();
      continue;
    }
    R1VK_ASSIGN_OR_RETURN(auto b, ctx.create_buffer(sizes.kv_layer, vk::MemoryUsage::kDeviceLocal,
                                                    "KV block pool, layer " + std::to_string(l)));
    e->kv_.push_back(std::move(b));
  }
  // Buckets: every power of two below the full step, then the full step (the plan's prefill
  // chunk). A step runs the smallest bucket that holds it, and every kernel's cost grows with the
  // bucket's rows (grids, tiles), so a decode batch that also carries a short prompt chunk (a
  // server step: 15 decodes + 17 prompt tokens) runs 32 rows, not the chunk's 64 or 512.
  for (uint32_t r = 1; r < max_rows; r *= 2) e->buckets_.push_back({r, {}, {}, {}, {}});
  e->buckets_.push_back({max_rows, {}, {}, {}, {}});
  R1VK_ASSIGN_OR_RETURN(e->scratch_, ctx.create_buffer(sizes.scratch, vk::MemoryUsage::kDeviceLocal, "kernel scratch"));
  const uint32_t vocab = static_cast<uint32_t>(model.vocab_size());
  if (sizes.sample_scratch) {
    R1VK_ASSIGN_OR_RETURN(e->sample_scratch_,
                          ctx.create_buffer(sizes.sample_scratch, vk::MemoryUsage::kDeviceLocal, "sampler scratch"));
  }
  const uint32_t samples = e->max_samples_;
  e->tokens_offset_ = align256(4 * kernels::step_words(max_rows, samples, options.max_batch, max_blocks));
  e->sampled_offset_ = e->tokens_offset_ + align256(uint64_t{max_rows} * 4);
  e->mtp_tokens_offset_ = e->sampled_offset_ + align256(uint64_t{samples} * 4);
  e->draft_step_offset_ = e->mtp_tokens_offset_ + align256(uint64_t{max_rows} * 4);
  e->drafts_offset_ = e->draft_step_offset_ + align256(4 * kernels::step_words(0, samples, 0, 0));
  // Without MTP the step I/O ends with the head step of compacted prefill buckets instead.
  e->head_step_offset_ = e->mtp_tokens_offset_;
  e->accept_entries_offset_ = e->drafts_offset_ + align256(uint64_t{samples} * 4);
  e->pass_steps_offset_ = e->accept_entries_offset_ + align256(4 * (1 + 4 * uint64_t{options.max_batch}));
  e->pass_step_bytes_ =
      align256(4 * kernels::step_words(options.max_batch, options.max_batch, options.max_batch + 1, max_blocks));
  e->pass_drafts_offset_ = e->pass_steps_offset_ + extra_passes * e->pass_step_bytes_;
  e->pass_drafts_bytes_ = align256(uint64_t{options.max_batch} * 4);
  const uint64_t io_bytes =
      mtp ? e->pass_drafts_offset_ + extra_passes * e->pass_drafts_bytes_
          : e->head_step_offset_ + align256(4 * kernels::step_words(options.max_batch, options.max_batch, 0, 0));
  R1VK_ASSIGN_OR_RETURN(e->io_, ctx.create_buffer(io_bytes, vk::MemoryUsage::kHostVisible, "step I/O"));
  // Without kept logits, steps of more rows than samples (prefill chunks) run the output head
  // on the gathered sampled rows only (ProgramBuffers::head_rows). Not with MTP (a verified
  // draft samples every row of a decode bucket) nor on a pipeline stage.
  if (sizes.head_rows) {
    R1VK_ASSIGN_OR_RETURN(e->head_rows_, ctx.create_buffer(sizes.head_rows, vk::MemoryUsage::kDeviceLocal, "sampled head rows"));
    e->head_op_ = compactable_head_op(m.main);
  }
  if (options.keep_logits && e->last_stage()) {
    R1VK_ASSIGN_OR_RETURN(e->readback_, ctx.create_buffer(uint64_t{max_rows} * vocab * 4, vk::MemoryUsage::kHostVisible,
                                                          "logits read-back"));
  }
  for (Bucket& b : e->buckets_) {
    R1VK_ASSIGN_OR_RETURN(b.cmd, ctx.create_command_buffer());
    if (options.profile) {
      R1VK_ASSIGN_OR_RETURN(b.timestamps,
                            vk::TimestampQueryPool::create(ctx.device(), static_cast<uint32_t>(e->stage_.end - e->stage_.first + 1)));
      if (mtp) {
        R1VK_ASSIGN_OR_RETURN(b.mtp_timestamps,
                              vk::TimestampQueryPool::create(ctx.device(), static_cast<uint32_t>(m.mtp.ops.size() + 1)));
      }
    }
    R1VK_TRY(e->record(b, b.cmd, mtp, options.profile ? &b.timestamps : nullptr));
    if (mtp && options.draft_min_acceptance > 0.0f) {
      R1VK_ASSIGN_OR_RETURN(b.plain_cmd, ctx.create_command_buffer());
      R1VK_TRY(e->record(b, b.plain_cmd, false, options.profile ? &b.timestamps : nullptr));
    }
  }
  return e;
}

ProgramBuffers BatchExecutor::program_buffers(VkDeviceAddress arena) const {
  ProgramBuffers b;
  b.arena = arena;
  for (const auto& k : kv_) b.kv_layers.push_back(k.address());
  b.scratch = scratch_.address();
  b.scratch_size = scratch_.size();
  b.block_tokens = pool_.block_tokens();
  b.pool_rows = static_cast<uint32_t>((pool_.total() + (mtp_normed_value_ >= 0 ? 1 : 0)) * pool_.block_tokens());
  return b;
}

Status BatchExecutor::record(Bucket& bucket, vk::CommandBuffer& cmd, bool with_mtp, const vk::TimestampQueryPool* timestamps) {
  const plan::Program& p = model_.manifest().main;
  const plan::Value& tokens = p.values[static_cast<size_t>(p.tokens_value)];
  const plan::Value& logits = p.values[static_cast<size_t>(p.logits_value)];
  const plan::Program& q = model_.manifest().mtp;
  const bool mtp = with_mtp;
  R1VK_TRY(cmd.begin(/*one_time=*/false));
  const uint64_t hidden_bytes = uint64_t{bucket.rows} * static_cast<uint64_t>(hidden_width_) * 4;
  if (first_stage()) {
    cmd.copy_buffer(io_.handle(), tokens_offset_, arena_.handle(), tokens.offset, uint64_t{bucket.rows} * 4);
  } else {
    cmd.copy_buffer(stage_io_.handle(), 0, arena_.handle(), hidden_offset_, hidden_bytes);
  }
  if (mtp) {
    const plan::Value& mtp_tokens = q.values[static_cast<size_t>(q.tokens_value)];
    cmd.copy_buffer(io_.handle(), mtp_tokens_offset_, mtp_arena_.handle(), mtp_tokens.offset, uint64_t{bucket.rows} * 4);
  }
  cmd.compute_barrier();
  ProgramBuffers b = program_buffers(arena_.address());
  const kernels::StepView step{io_.address(), bucket.rows};
  kernels::StepView sample_step = step;
  if (head_op_ && bucket.rows > options_.max_batch) {
    b.head_rows = head_rows_.address();
    b.head_step = {io_.address() + head_step_offset_, options_.max_batch};
    b.head_op = *head_op_;
    sample_step = b.head_step;  // the logits of sample i are in row i
  }
  R1VK_TRY(record_program(model_, ProgramId::kMain, b, step, cmd, timestamps, stage_));
  if (!last_stage()) {
    cmd.copy_buffer(arena_.handle(), hidden_offset_, stage_io_.handle(), 0, hidden_bytes);
    cmd.compute_barrier();
    R1VK_TRY(model_.record_step_end(cmd));
    return cmd.end();
  }
  model_.attention().set_sample_scratch(sample_scratch_.address());
  const kernels::ActView lv = act_view(p, {p.logits_value, 0, logits.width}, arena_.address());
  // With MTP the sampled tokens also land in the MTP program's token rows (next_tokens is
  // indexed by the sampled row): row r of the MTP program reads the token after row r.
  const VkDeviceAddress next_tokens =
      mtp ? mtp_arena_.address() + q.values[static_cast<size_t>(q.tokens_value)].offset : 0;
  R1VK_TRY(model_.attention().record_sample(cmd, lv, io_.address() + sampled_offset_, next_tokens, sample_step,
                                            std::min(bucket.rows, max_samples_)));
  if (mtp) R1VK_TRY(record_mtp(bucket, cmd));
  if (options_.keep_logits) {
    cmd.compute_barrier();
    cmd.copy_buffer(arena_.handle(), logits.offset, readback_.handle(), 0, uint64_t{bucket.rows} * logits.width * 4);
  }
  cmd.compute_barrier();
  // Last: the expert cache's snapshot of the use counters this step left, for the host to read
  // once the step has finished (no submit or wait of its own).
  R1VK_TRY(model_.record_step_end(cmd));
  return cmd.end();
}

// The MTP program on the step's rows: row r drafts the token after the one after row r from the
// main model's normed hidden state of row r and that next token (MODEL_SPEC §3), at row r's
// position in the MTP layer's own cache, so every fed position fills the MTP cache as prefill
// does. The greedy draft sampler reads the rows of the main samples.
Status BatchExecutor::record_mtp(Bucket& bucket, vk::CommandBuffer& cmd) {
  const plan::Program& p = model_.manifest().main;
  const plan::Program& q = model_.manifest().mtp;
  cmd.compute_barrier();
  // The main program's normed hidden rows are read where it left them (widths checked in
  // create()): nothing after the main program's head writes them.
  const plan::Value& hidden = p.values[static_cast<size_t>(p.hidden_value)];
  ProgramBuffers b = program_buffers(mtp_arena_.address());
  b.external_value = q.hidden_value;
  b.external_base = arena_.address() + hidden.offset;
  b.keep_value = mtp_normed_value_;
  const kernels::StepView step{io_.address(), bucket.rows};
  R1VK_TRY(record_program(model_, ProgramId::kMtp, b, step, cmd, options_.profile ? &bucket.mtp_timestamps : nullptr));
  const plan::Value& logits = q.values[static_cast<size_t>(q.logits_value)];
  const kernels::ActView lv = act_view(q, {q.logits_value, 0, logits.width}, mtp_arena_.address());
  const kernels::StepView draft_step{io_.address() + draft_step_offset_, bucket.rows};
  R1VK_TRY(model_.attention().record_sample(cmd, lv, io_.address() + drafts_offset_, 0, draft_step,
                                            std::min(bucket.rows, max_samples_), /*greedy_only=*/true));
  return options_.draft_tokens > 1 ? record_extra_passes(cmd) : ok_status();
}

// Drafts 2..N (docs/speculative.md, "Several drafts"): the accept kernel finds each sampled
// entry's last accepted row and gathers the first pass's normed output row and draft there into
// one row per entry; pass d then runs the MTP program on those rows at the position after the
// accepted prefix + d (positions the next step rewrites, in blocks reserved for them, else in the
// trash block), from the previous pass's normed output and draft, and its greedy sampler writes
// the entry's next draft and the next pass's token. Passes alternate between the two MTP arenas.
Status BatchExecutor::record_extra_passes(vk::CommandBuffer& cmd) {
  const plan::Program& q = model_.manifest().mtp;
  const plan::Value& normed = q.values[static_cast<size_t>(mtp_normed_value_)];
  const plan::Value& tokens = q.values[static_cast<size_t>(q.tokens_value)];
  const plan::Value& logits = q.values[static_cast<size_t>(q.logits_value)];
  const uint32_t passes = options_.draft_tokens - 1, entries = options_.max_batch;
  cmd.compute_barrier();
  kernels::DraftAcceptArgs a;
  a.step = io_.address();
  a.fed = io_.address() + tokens_offset_;
  a.sampled = io_.address() + sampled_offset_;
  a.drafts = io_.address() + drafts_offset_;
  a.entries = io_.address() + accept_entries_offset_;
  a.hidden = mtp_arena_.address() + normed.offset;
  a.hidden_out = draft_hidden_.address();
  a.tokens_out = mtp_arena2_.address() + tokens.offset;
  a.passes = io_.address() + pass_steps_offset_;
  a.pass_words = static_cast<uint32_t>(pass_step_bytes_ / 4);
  a.n_passes = passes;
  a.hidden_stride = static_cast<uint32_t>(normed.width);
  a.cols = static_cast<uint32_t>(normed.width);
  a.trash_slot = options_.max_batch;
  a.max_entries = entries;
  a.force_accept = options_.test_force_accept_draft;
  R1VK_TRY(kernels::record_draft_accept(cmd, *accept_pipelines_, a));
  for (uint32_t d = 0; d < passes; ++d) {
    cmd.compute_barrier();
    const vk::Buffer& arena = d % 2 == 0 ? mtp_arena2_ : mtp_arena_;
    const vk::Buffer& other = d % 2 == 0 ? mtp_arena_ : mtp_arena2_;
    ProgramBuffers b = program_buffers(arena.address());
    b.external_value = q.hidden_value;
    b.external_base = d == 0 ? draft_hidden_.address() : other.address() + normed.offset;
    const bool last = d + 1 == passes;
    b.keep_value = last ? -1 : mtp_normed_value_;
    const kernels::StepView step{io_.address() + pass_steps_offset_ + d * pass_step_bytes_, entries};
    R1VK_TRY(record_program(model_, ProgramId::kMtp, b, step, cmd));
    const kernels::ActView lv = act_view(q, {q.logits_value, 0, logits.width}, arena.address());
    const VkDeviceAddress next_tokens = last ? 0 : other.address() + tokens.offset;
    R1VK_TRY(model_.attention().record_sample(cmd, lv, io_.address() + pass_drafts_offset_ + d * pass_drafts_bytes_, next_tokens,
                                              step, entries, /*greedy_only=*/true));
  }
  return ok_status();
}

Result<BatchExecutor::Sequence*> BatchExecutor::live(SeqId seq) {
  if (seq >= seqs_.size() || !seqs_[seq].live) return invalid("sequence " + std::to_string(seq) + " does not exist");
  return &seqs_[seq];
}

Result<const BatchExecutor::Sequence*> BatchExecutor::live(SeqId seq) const {
  if (seq >= seqs_.size() || !seqs_[seq].live) return invalid("sequence " + std::to_string(seq) + " does not exist");
  return &seqs_[seq];
}

size_t BatchExecutor::live_sequences() const {
  return static_cast<size_t>(std::count_if(seqs_.begin(), seqs_.end(), [](const Sequence& s) { return s.live; }));
}

Result<SeqId> BatchExecutor::add_sequence(std::span<const int32_t> prompt) {
  SeqId id = 0;
  while (id < seqs_.size() && seqs_[id].live) ++id;
  if (id == seqs_.size()) seqs_.emplace_back();
  Sequence& s = seqs_[id];
  s = Sequence{};
  s.live = true;
  const uint32_t bt = pool_.block_tokens();
  const size_t reusable = prompt.empty() ? 0 : (prompt.size() - 1) / bt;
  uint64_t parent = 0;
  for (size_t i = 0; i < reusable; ++i) {
    const auto block_tokens = prompt.subspan(i * bt, bt);
    const auto b = pool_.lookup(parent, block_tokens);
    if (!b) break;
    parent = BlockPool::chain_hash(parent, block_tokens);
    s.blocks.push_back(*b);
    s.block_hashes.push_back(parent);
  }
  s.tokens.assign(prompt.begin(), prompt.begin() + static_cast<std::ptrdiff_t>(s.blocks.size() * bt));
  return id;
}

Status BatchExecutor::copy_block(uint32_t from, uint32_t to) {
  vk::Context& ctx = model_.context();
  const uint64_t bytes = uint64_t{pool_.block_tokens()} * static_cast<uint64_t>(model_.manifest().memory.kv_width) * 2;
  R1VK_ASSIGN_OR_RETURN(auto cmd, ctx.create_command_buffer());
  R1VK_TRY(cmd.begin());
  for (const auto& k : kv_) {
    if (k.handle() != VK_NULL_HANDLE) cmd.copy_buffer(k.handle(), from * bytes, k.handle(), to * bytes, bytes);
  }
  cmd.compute_barrier();
  R1VK_TRY(cmd.end());
  return ctx.submit_and_wait(cmd);
}

Result<SeqId> BatchExecutor::fork_sequence(SeqId parent, int64_t prefix_len) {
  if (pending_) return invalid("a submitted step has not finished");
  R1VK_ASSIGN_OR_RETURN(Sequence * p, live(parent));
  const int64_t ppos = static_cast<int64_t>(p->tokens.size());
  if (prefix_len < 0 || prefix_len > ppos) {
    return make_error(ErrorCode::kOutOfRange, "fork prefix " + std::to_string(prefix_len) + " is outside the parent's " +
                                                  std::to_string(ppos) + " positions");
  }
  const uint32_t bt = pool_.block_tokens();
  const size_t full = static_cast<size_t>(prefix_len) / bt;
  const bool partial = prefix_len % bt != 0;
  uint32_t copy = 0;
  if (partial) {
    R1VK_ASSIGN_OR_RETURN(copy, pool_.allocate());
    auto st = copy_block(p->blocks[full], copy);
    if (!st.ok()) {
      pool_.release(copy);
      return std::move(st).error();
    }
  }
  SeqId id = 0;
  while (id < seqs_.size() && seqs_[id].live) ++id;
  if (id == seqs_.size()) seqs_.emplace_back();
  p = &seqs_[parent];  // seqs_ may have grown
  Sequence& c = seqs_[id];
  c = Sequence{};
  c.live = true;
  c.blocks.assign(p->blocks.begin(), p->blocks.begin() + static_cast<std::ptrdiff_t>(full));
  for (uint32_t b : c.blocks) pool_.retain(b);
  if (partial) c.blocks.push_back(copy);
  c.tokens.assign(p->tokens.begin(), p->tokens.begin() + prefix_len);
  c.block_hashes.assign(p->block_hashes.begin(), p->block_hashes.begin() + static_cast<std::ptrdiff_t>(std::min(full, p->block_hashes.size())));
  c.cacheable = p->cacheable;
  if (prefix_len == ppos) {
    c.last_sampled = p->last_sampled;
    c.drafts = p->drafts;
    c.rng_counter = p->rng_counter;
    c.acceptance = p->acceptance;
    c.paused = p->paused;
  }
  return id;
}

Status BatchExecutor::free_sequence(SeqId seq) {
  if (pending_) return invalid("a submitted step has not finished");
  R1VK_ASSIGN_OR_RETURN(Sequence * s, live(seq));
  for (uint32_t b : s->blocks) pool_.release(b);
  *s = Sequence{};
  return ok_status();
}

Result<int64_t> BatchExecutor::position(SeqId seq) const {
  R1VK_ASSIGN_OR_RETURN(const Sequence* s, live(seq));
  return static_cast<int64_t>(s->tokens.size());
}

Result<int32_t> BatchExecutor::last_token(SeqId seq) const {
  R1VK_ASSIGN_OR_RETURN(const Sequence* s, live(seq));
  return s->last_sampled;
}

Status BatchExecutor::rewind(SeqId seq, int64_t position) {
  if (pending_) return invalid("a submitted step has not finished");
  R1VK_ASSIGN_OR_RETURN(Sequence * s, live(seq));
  const int64_t pos = static_cast<int64_t>(s->tokens.size());
  if (position < 0 || position > pos) {
    return make_error(ErrorCode::kOutOfRange, "cannot rewind to position " + std::to_string(position) + " from " + std::to_string(pos));
  }
  const uint32_t bt = pool_.block_tokens();
  const size_t keep = static_cast<size_t>((position + bt - 1) / bt);
  if (position % bt != 0 && static_cast<size_t>(position / bt) < s->blocks.size()) {
    // The next write lands inside this block: make it private and drop its published content.
    uint32_t& b = s->blocks[static_cast<size_t>(position / bt)];
    if (pool_.refs(b) > 1) {
      R1VK_ASSIGN_OR_RETURN(uint32_t copy, pool_.allocate());
      auto st = copy_block(b, copy);
      if (!st.ok()) {
        pool_.release(copy);
        return st;
      }
      pool_.release(b);
      b = copy;
    } else {
      pool_.unpublish(b);
    }
  }
  for (size_t i = keep; i < s->blocks.size(); ++i) pool_.release(s->blocks[i]);
  s->blocks.resize(std::min(keep, s->blocks.size()));
  s->block_hashes.resize(std::min(s->block_hashes.size(), static_cast<size_t>(position / bt)));
  s->tokens.resize(static_cast<size_t>(position));
  s->last_sampled = -1;
  s->drafts.clear();
  // Back at the start the sequence draws as a new one: the same seed and prompt give the same
  // tokens after a reset as in a fresh session.
  if (position == 0) s->rng_counter = 0;
  return ok_status();
}

Status BatchExecutor::unsample(SeqId seq, uint32_t tokens) {
  if (pending_) return invalid("a submitted step has not finished");
  R1VK_ASSIGN_OR_RETURN(Sequence * s, live(seq));
  if (tokens > s->rng_counter) {
    return invalid("cannot take back " + std::to_string(tokens) + " draws: the sequence drew " + std::to_string(s->rng_counter));
  }
  s->rng_counter -= tokens;
  return ok_status();
}

Status BatchExecutor::seek_for_benchmark(SeqId seq, int64_t position) {
  if (pending_) return invalid("a submitted step has not finished");
  R1VK_ASSIGN_OR_RETURN(Sequence * s, live(seq));
  if (position < 0 || position >= context_length()) {
    return make_error(ErrorCode::kOutOfRange, "position " + std::to_string(position) + " is outside the " +
                                                  std::to_string(context_length()) + "-token context");
  }
  if (position < static_cast<int64_t>(s->tokens.size())) {
    const int32_t last = s->last_sampled;
    R1VK_TRY(rewind(seq, position));
    s->last_sampled = last;
  }
  const uint32_t bt = pool_.block_tokens();
  const size_t need = static_cast<size_t>((position + bt - 1) / bt);
  if (need > s->blocks.size() && need - s->blocks.size() > pool_.available()) {
    return make_error(ErrorCode::kOutOfRange, "KV cache full: seeking needs " + std::to_string(need - s->blocks.size()) +
                                                  " more blocks, " + std::to_string(pool_.available()) + " free");
  }
  while (s->blocks.size() < need) {
    R1VK_ASSIGN_OR_RETURN(uint32_t b, pool_.allocate());
    s->blocks.push_back(b);
  }
  s->tokens.resize(static_cast<size_t>(position), 0);
  s->cacheable = false;  // the blocks hold whatever they held: never offer them for reuse
  if (s->last_sampled < 0) s->last_sampled = 0;
  return ok_status();
}

void BatchExecutor::publish_full_blocks(Sequence& s) {
  if (!s.cacheable) return;
  const uint32_t bt = pool_.block_tokens();
  const size_t full = s.tokens.size() / bt;
  while (s.block_hashes.size() < full) {
    const size_t i = s.block_hashes.size();
    const uint64_t parent = i ? s.block_hashes[i - 1] : 0;
    const auto toks = std::span<const int32_t>(s.tokens).subspan(i * bt, bt);
    pool_.publish(s.blocks[i], parent, toks);
    s.block_hashes.push_back(BlockPool::chain_hash(parent, toks));
  }
}

Status BatchExecutor::submit(std::span<const Entry> entries) {
  if (pending_) return invalid("a submitted step has not finished");
  if (entries.empty()) return invalid("a step needs at least one entry");
  if (entries.size() > options_.max_batch) {
    return invalid(std::to_string(entries.size()) + " entries exceed the executor's max batch of " +
                   std::to_string(options_.max_batch));
  }
  const int64_t vocab = model_.vocab_size();
  const uint32_t bt = pool_.block_tokens();
  const bool mtp = options_.draft_tokens > 0;
  std::vector<bool> seen(seqs_.size(), false);
  uint64_t rows = 0;
  size_t new_blocks = 0;
  for (const Entry& e : entries) {
    R1VK_ASSIGN_OR_RETURN(const Sequence* s, live(e.seq));
    if (seen[e.seq]) return invalid("sequence " + std::to_string(e.seq) + " appears twice in one step");
    seen[e.seq] = true;
    if (e.tokens.empty() && s->last_sampled < 0) {
      return invalid("sequence " + std::to_string(e.seq) + " has no sampled token to continue from: feed tokens");
    }
    for (int32_t t : e.tokens) {
      if (t < 0 || t >= vocab) {
        return invalid("token " + std::to_string(t) + " is outside the vocabulary of " + std::to_string(vocab));
      }
    }
    const int64_t k = e.tokens.empty() ? 1 : static_cast<int64_t>(e.tokens.size());
    const int64_t pos = static_cast<int64_t>(s->tokens.size());
    if (pos + k > context_length()) {
      return make_error(ErrorCode::kOutOfRange, "context full: sequence " + std::to_string(e.seq) + " at " +
                                                    std::to_string(pos) + " + " + std::to_string(k) + " tokens exceeds the " +
                                                    std::to_string(context_length()) + "-token context");
    }
    rows += static_cast<uint64_t>(k);
    new_blocks += static_cast<size_t>((pos + k + bt - 1) / bt) - s->blocks.size();
  }
  if (rows > max_rows_) {
    return invalid("a step of " + std::to_string(rows) + " rows exceeds the " + std::to_string(max_rows_) +
                   "-row limit (the plan's prefill chunk): split the prefill");
  }
  if (!first_stage() && stage_input_rows_ != rows) {
    return invalid("the stage's input holds " + std::to_string(stage_input_rows_) + " hidden rows, the step has " +
                   std::to_string(rows));
  }
  if (new_blocks > pool_.available()) {
    return make_error(ErrorCode::kOutOfRange, "KV cache full: the step needs " + std::to_string(new_blocks) + " more blocks, " +
                                                  std::to_string(pool_.available()) + " of " + std::to_string(pool_.total()) +
                                                  " are free (the blocks are shared by every sequence of this executor: "
                                                  "end, reset or destroy one to free its blocks)");
  }
  // Drafts to verify, in entry order while the step's rows and the free blocks allow: a draft is
  // an optimisation, never a reason for a step to fail.
  // A sequence verifies as many of its drafts as fit (a prefix: each draft continues the ones
  // before it).
  const auto blocks_for = [bt](int64_t positions) { return static_cast<size_t>((positions + bt - 1) / bt); };
  std::vector<uint32_t> verify(entries.size(), 0);
  if (mtp) {
    for (size_t i = 0; i < entries.size(); ++i) {
      const Entry& e = entries[i];
      const Sequence& s = seqs_[e.seq];
      const int64_t pos = static_cast<int64_t>(s.tokens.size());
      if (!e.speculate || !e.tokens.empty() || !e.sample || s.drafts.empty()) continue;
      int64_t n = std::min<int64_t>({static_cast<int64_t>(s.drafts.size()), int64_t{e.max_drafts}, context_length() - pos - 1,
                                     static_cast<int64_t>(max_rows_ - rows)});
      for (; n > 0; --n) {
        const size_t extra = blocks_for(pos + 1 + n) - blocks_for(pos + 1);
        if (new_blocks + extra > pool_.available()) continue;
        verify[i] = static_cast<uint32_t>(n);
        rows += static_cast<uint64_t>(n);
        new_blocks += extra;
        break;
      }
    }
  }
  // Several drafts: the extra MTP passes write the cache rows after a sampled entry's last row
  // (up to draft_tokens - 1 of them when every draft stands). Blocks for them are taken where
  // free (and released after the step); a pass row without one lands in the trash block.
  std::vector<size_t> pass_blocks(entries.size(), 0);
  if (options_.draft_tokens > 1) {
    for (size_t i = 0; i < entries.size(); ++i) {
      const Entry& e = entries[i];
      if (!e.sample) continue;
      const int64_t pos = static_cast<int64_t>(seqs_[e.seq].tokens.size());
      const int64_t end = pos + (e.tokens.empty() ? 1 + verify[i] : static_cast<int64_t>(e.tokens.size()));
      const size_t want = blocks_for(std::min<int64_t>(end + options_.draft_tokens - 1, context_length()));
      pass_blocks[i] = std::min(want - std::min(want, blocks_for(end)), pool_.available() - new_blocks);
      new_blocks += pass_blocks[i];
    }
  }

  // The expert cache's round (when the placement changes) is submitted before the step, which
  // reads the expert tables it leaves; here, so that a failure changes no sequence.
  R1VK_TRY(model_.before_step());
  std::vector<kernels::StepRow> step_rows;
  std::vector<kernels::StepSample> samples;
  std::vector<uint32_t> table(size_t{options_.max_batch} * max_blocks_, 0);
  std::vector<int32_t> tokens;
  std::vector<int32_t> next_tokens;  // MTP: per row the token after it (0 where the sampler writes it)
  std::vector<uint32_t> accept_entries{0};  // several drafts: mtp_accept.comp's entry records
  pending_entries_.clear();
  for (size_t slot = 0; slot < entries.size(); ++slot) {
    const Entry& e = entries[slot];
    Sequence& s = seqs_[e.seq];
    const int64_t pos = static_cast<int64_t>(s.tokens.size());
    PendingEntry pe;
    pe.seq = e.seq;
    pe.sample = e.sample;
    pe.drafts = verify[slot];
    if (pe.drafts > 0) {
      pe.tokens = {s.last_sampled};
      pe.tokens.insert(pe.tokens.end(), s.drafts.begin(), s.drafts.begin() + pe.drafts);
    } else if (e.tokens.empty()) {
      pe.tokens = {s.last_sampled};
    } else {
      pe.tokens.assign(e.tokens.begin(), e.tokens.end());
    }
    const int64_t k = static_cast<int64_t>(pe.tokens.size());
    while (s.blocks.size() < blocks_for(pos + k) + pass_blocks[slot]) {
      R1VK_ASSIGN_OR_RETURN(uint32_t b, pool_.allocate());  // cannot fail: counted above
      s.blocks.push_back(b);
    }
    pe.limit = std::min<int64_t>(static_cast<int64_t>(s.blocks.size()) * bt, context_length());
    if (options_.draft_tokens > 1 && e.sample) {
      accept_entries.insert(accept_entries.end(), {static_cast<uint32_t>(samples.size()), pe.drafts,
                                                   static_cast<uint32_t>(pe.limit), static_cast<uint32_t>(slot)});
      ++accept_entries[0];
    }
    std::copy(s.blocks.begin(), s.blocks.end(), table.begin() + static_cast<std::ptrdiff_t>(slot * max_blocks_));
    for (int64_t i = 0; i < k; ++i) {
      step_rows.push_back({static_cast<uint32_t>(pos + i), static_cast<uint32_t>(slot)});
      const bool sampled_row = i + 1 == k ? e.sample : pe.drafts > 0;
      next_tokens.push_back(sampled_row || i + 1 == k ? 0 : pe.tokens[static_cast<size_t>(i + 1)]);
      if (sampled_row) {
        // Row i of a verification draws with the counter plain decoding's i-th next step uses:
        // the token after accepted drafts is then the one plain decoding samples there.
        const uint32_t counter = s.rng_counter + (pe.drafts > 0 ? static_cast<uint32_t>(i) : 0u);
        samples.push_back({static_cast<uint32_t>(step_rows.size() - 1), counter, e.sampling.temperature, e.sampling.top_p,
                           e.sampling.top_k, e.sampling.seed});
      }
    }
    tokens.insert(tokens.end(), pe.tokens.begin(), pe.tokens.end());
    pending_entries_.push_back(std::move(pe));
  }
  const auto words = kernels::encode_step(step_rows, samples, table, max_blocks_, max_rows_, max_samples_);
  std::byte* io = io_.mapped().data();
  std::memcpy(io, words.data(), words.size() * 4);
  std::memcpy(io + tokens_offset_, tokens.data(), tokens.size() * 4);
  if (mtp) {
    std::memcpy(io + mtp_tokens_offset_, next_tokens.data(), next_tokens.size() * 4);
    // The drafter is greedy: the MTP's argmax at every sampled row.
    std::vector<kernels::StepSample> drafts;
    for (const kernels::StepSample& sm : samples) drafts.push_back({sm.row, 0, 0.0f, 1.0f, 0, 0});
    const auto draft_words = kernels::encode_step({}, drafts, {}, 0, 0, max_samples_);
    std::memcpy(io + draft_step_offset_, draft_words.data(), draft_words.size() * 4);
  }
  if (options_.draft_tokens > 1) {
    // The extra passes' steps: one row per sampled entry (mtp_accept.comp writes the rows),
    // sample i greedy at row i, the step's block table plus the trash slot's row.
    std::memcpy(io + accept_entries_offset_, accept_entries.data(), accept_entries.size() * 4);
    const uint32_t m = accept_entries[0];
    std::vector<kernels::StepRow> pass_rows(m);
    std::vector<kernels::StepSample> pass_samples(m);
    for (uint32_t i = 0; i < m; ++i) pass_samples[i] = {i, 0, 0.0f, 1.0f, 0, 0};
    std::vector<uint32_t> pass_table(table);
    pass_table.resize(table.size() + max_blocks_, trash_block_);
    const auto pass_words =
        kernels::encode_step(pass_rows, pass_samples, pass_table, max_blocks_, options_.max_batch, options_.max_batch);
    for (uint32_t d = 0; d + 1 < options_.draft_tokens; ++d) {
      std::memcpy(io + pass_steps_offset_ + d * pass_step_bytes_, pass_words.data(), pass_words.size() * 4);
    }
  }
  if (head_op_) {
    // The head step of compacted buckets: one row per sample, sample i reading row i.
    std::vector<kernels::StepRow> head_rows(samples.size());
    std::vector<kernels::StepSample> head_samples = samples;
    for (size_t i = 0; i < head_samples.size(); ++i) head_samples[i].row = static_cast<uint32_t>(i);
    const auto head = kernels::encode_step(head_rows, head_samples, {}, 0, options_.max_batch, options_.max_batch);
    std::memcpy(io + head_step_offset_, head.data(), head.size() * 4);
  }
  R1VK_TRY(model_.context().allocator().flush(io_.allocation(), 0, io_.size()));
  if (!first_stage()) R1VK_TRY(model_.context().allocator().flush(stage_io_.allocation(), 0, stage_io_.size()));
  stage_input_rows_ = 0;
  const Bucket* bucket = &buckets_.back();
  for (const Bucket& b : buckets_) {
    if (b.rows >= rows) {  // as bucket_rows()
      bucket = &b;
      break;
    }
  }
  // Automatic off: when every sequence of the step pauses its drafts, the step runs without the
  // MTP program.
  bool run_mtp = mtp;
  if (mtp && bucket->plain_cmd.handle() != VK_NULL_HANDLE) {
    run_mtp = std::any_of(entries.begin(), entries.end(), [&](const Entry& e) { return seqs_[e.seq].paused == 0; });
  }
  R1VK_ASSIGN_OR_RETURN(pending_, model_.context().submit(run_mtp || !mtp ? bucket->cmd : bucket->plain_cmd));
  model_.step_submitted(pending_);
  pending_mtp_ = run_mtp;
  if (mtp && !run_mtp) ++draft_stats_.plain_steps;
  last_bucket_ = static_cast<size_t>(bucket - buckets_.data());
  pending_rows_ = static_cast<uint32_t>(rows);
  ++submits_;
  return ok_status();
}

BatchExecutor::~BatchExecutor() {
  // Freeing the arena, KV pool or command buffers under a running step is a use after free (on
  // lavapipe, a segfault in the shader): wait however long the step takes (as Context's
  // destructor waits the device idle); a lost device returns at once.
  if (pending_) (void)model_.context().wait_unbounded(pending_);
}

uint32_t BatchExecutor::bucket_rows(uint32_t rows) const {
  for (const Bucket& b : buckets_) {
    if (b.rows >= rows) return b.rows;
  }
  return buckets_.back().rows;
}

Result<bool> BatchExecutor::poll() {
  if (!pending_) return true;
  return model_.context().is_complete(pending_);
}

Result<std::vector<int32_t>> BatchExecutor::finish(std::vector<float>* logits) {
  if (!pending_) return invalid("no submitted step to finish");
  if (logits && !options_.keep_logits) return invalid("the executor was created without keep_logits");
  if (Status waited = model_.context().wait(pending_); !waited.ok()) {
    // A wait that timed out leaves the step pending while it still runs: finish may be called
    // again, and the destructor waits for it before freeing the buffers it uses. Any other
    // failure (a lost device) ends the step.
    auto done = model_.context().is_complete(pending_);
    if (!done.ok() || *done) pending_ = 0;
    return waited.error();
  }
  pending_ = 0;
  R1VK_TRY(model_.context().allocator().invalidate(io_.allocation(), 0, io_.size()));
  const bool mtp = options_.draft_tokens > 0;
  std::vector<int32_t> sampled(max_samples_), drafts(mtp ? max_samples_ : 0);
  std::memcpy(sampled.data(), io_.mapped().data() + sampled_offset_, sampled.size() * 4);
  if (mtp) std::memcpy(drafts.data(), io_.mapped().data() + drafts_offset_, drafts.size() * 4);
  // Several drafts: pass d's draft for the i-th sampled entry.
  const uint32_t passes = mtp ? options_.draft_tokens - 1 : 0;
  std::vector<int32_t> pass_drafts(size_t{passes} * options_.max_batch);
  for (uint32_t d = 0; d < passes; ++d) {
    std::memcpy(pass_drafts.data() + size_t{d} * options_.max_batch, io_.mapped().data() + pass_drafts_offset_ + d * pass_drafts_bytes_,
                size_t{options_.max_batch} * 4);
  }
  const uint32_t bt = pool_.block_tokens();
  std::vector<int32_t> out;
  emitted_.assign(pending_entries_.size(), {});
  size_t next = 0, sampled_entry = 0;
  for (size_t i = 0; i < pending_entries_.size(); ++i) {
    const PendingEntry& pe = pending_entries_[i];
    Sequence& s = seqs_[pe.seq];
    // The drafts after the token sampled at sample j: the first MTP pass's there, then the extra
    // passes' (a pass whose row had no cache block of its own ran in the trash block: its draft
    // and the ones after it are dropped).
    const auto drafts_after = [&](size_t j) {
      std::vector<int32_t> d{drafts[j]};
      const int64_t pos = static_cast<int64_t>(s.tokens.size());
      for (uint32_t p = 0; p < passes && pos + p < pe.limit; ++p) d.push_back(pass_drafts[size_t{p} * options_.max_batch + sampled_entry]);
      return d;
    };
    // The counter counts sampled tokens only: a prompt chunk that samples nothing leaves it, so
    // a seeded sequence draws the same tokens however its prompt was cut into chunks (the
    // server's cut depends on what else runs).
    if (pe.sample) ++s.rng_counter;
    if (pe.drafts > 0) {
      // Rows: [last sampled, d_1 .. d_n]; row i's sample t_i is the main model's token after
      // d_i. d_1 stands when t_0 = d_1, d_2 then when t_1 = d_2, and so on up to the first that
      // differs. With a greedy drafter (q one-hot on each draft) this is speculative rejection
      // sampling (Leviathan et al. 2023, Chen et al. 2023) applied draft by draft: d_i is
      // accepted with probability p_i(d_i) = min(1, p/q), and at the first rejection t_{i-1} is
      // a draw from p_i with d_i's mass removed and renormalised = norm(max(0, p - q)); every
      // t_i drew with the counter plain decoding uses for that token, so the text is the same.
      const uint32_t n = pe.drafts;
      uint32_t a = 0;
      const uint32_t forced = options_.test_force_accept_draft;  // testing only (BatchOptions)
      while (a < n && (pe.tokens[a + 1] == sampled[next + a] || a + 1 == forced)) ++a;
      draft_stats_.proposed += n;
      draft_stats_.accepted += a;
      for (uint32_t j = 0; j < std::min(a + 1, n); ++j) {
        s.acceptance += ((j < a ? 1.0f : 0.0f) - s.acceptance) / 8.0f;
        ++draft_stats_.proposed_at[j];
        if (j < a) ++draft_stats_.accepted_at[j];
      }
      s.rng_counter += a;  // 1 + a tokens emitted: as 1 + a plain steps
      s.tokens.insert(s.tokens.end(), pe.tokens.begin(), pe.tokens.begin() + a + 1);
      // The accepted drafts (each equal to the token sampled before it, under the exact rule),
      // then the token sampled after the last of them: the tokens the cache now holds.
      emitted_[i].assign(pe.tokens.begin() + 1, pe.tokens.begin() + 1 + a);
      emitted_[i].push_back(sampled[next + a]);
      s.last_sampled = sampled[next + a];
      s.drafts = drafts_after(next + a);
      if (options_.draft_min_acceptance > 0.0f && s.acceptance < options_.draft_min_acceptance) {
        ++draft_stats_.pauses;
        s.paused = options_.draft_retry_steps;
        s.drafts.clear();
      }
      next += n + 1;
    } else {
      s.tokens.insert(s.tokens.end(), pe.tokens.begin(), pe.tokens.end());
      s.last_sampled = pe.sample ? sampled[next] : -1;
      if (!last_stage()) s.last_sampled = -1;  // sampled on the last stage
      s.drafts.clear();
      if (pe.sample && pending_mtp_ && s.paused == 0) s.drafts = drafts_after(next);
      if (pe.sample) {
        emitted_[i] = {s.last_sampled};
        ++next;
      }
      if (s.paused > 0 && --s.paused == 0) {
        // Retry: the next step drafts (the MTP program runs), the one after verifies; a single
        // rejection then pauses again.
        s.acceptance = options_.draft_min_acceptance;
      }
    }
    if (pe.sample) ++sampled_entry;
    // Drop the rejected drafts' cache rows and the blocks taken for the extra MTP passes: they
    // were written this step, so those blocks are private and unpublished; the next step
    // rewrites the rows past the sequence's position before anything reads them.
    const size_t keep = (s.tokens.size() + bt - 1) / bt;
    for (size_t b = keep; b < s.blocks.size(); ++b) pool_.release(s.blocks[b]);
    if (keep < s.blocks.size()) s.blocks.resize(keep);
    out.push_back(s.last_sampled);
    publish_full_blocks(s);
  }
  if (logits) {
    R1VK_TRY(model_.context().allocator().invalidate(readback_.allocation(), 0, readback_.size()));
    const size_t count = size_t{pending_rows_} * static_cast<size_t>(model_.vocab_size());
    const auto* f = reinterpret_cast<const float*>(readback_.mapped().data());
    logits->insert(logits->end(), f, f + count);
  }
  return out;
}

Status BatchExecutor::set_stage_input(std::span<const float> hidden) {
  if (first_stage()) return invalid("the first stage takes tokens, not hidden rows");
  if (pending_) return invalid("a submitted step has not finished");
  const size_t width = static_cast<size_t>(hidden_width_);
  if (hidden.size() % width != 0 || hidden.size() / width > max_rows_) {
    return invalid(std::to_string(hidden.size()) + " floats are not at most " + std::to_string(max_rows_) + " rows of " +
                   std::to_string(width) + " hidden columns");
  }
  std::memcpy(stage_io_.mapped().data(), hidden.data(), hidden.size_bytes());
  stage_input_rows_ = static_cast<uint32_t>(hidden.size() / width);
  return ok_status();
}

Result<std::span<const float>> BatchExecutor::stage_output() const {
  if (last_stage()) return invalid("the last stage hands on tokens, not hidden rows");
  if (pending_) return invalid("a submitted step has not finished");
  R1VK_TRY(model_.context().allocator().invalidate(stage_io_.allocation(), 0, stage_io_.size()));
  const auto* f = reinterpret_cast<const float*>(stage_io_.mapped().data());
  return std::span<const float>(f, size_t{pending_rows_} * static_cast<size_t>(hidden_width_));
}

Result<std::vector<int32_t>> BatchExecutor::step(std::span<const Entry> entries, std::vector<float>* logits) {
  if (logits && !options_.keep_logits) return invalid("the executor was created without keep_logits");
  R1VK_TRY(submit(entries));
  return finish(logits);
}

namespace {

std::vector<double> differences(const std::vector<double>& t) {
  std::vector<double> d;
  for (size_t i = 1; i < t.size(); ++i) d.push_back(t[i] - t[i - 1]);
  return d;
}

}  // namespace

Result<std::vector<double>> BatchExecutor::op_times_ns() const {
  if (!options_.profile) return invalid("the executor was created without profile");
  R1VK_ASSIGN_OR_RETURN(auto t, buckets_[last_bucket_].timestamps.read_ns());
  return differences(t);
}

Result<std::vector<double>> BatchExecutor::mtp_op_times_ns() const {
  if (!options_.profile || options_.draft_tokens == 0) return invalid("the executor was created without profile or MTP");
  R1VK_ASSIGN_OR_RETURN(auto t, buckets_[last_bucket_].mtp_timestamps.read_ns());
  return differences(t);
}

}  // namespace r1vk::exec
