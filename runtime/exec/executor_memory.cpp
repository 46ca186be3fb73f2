#include "exec/executor_memory.h"

#include <algorithm>

#include "exec/program_recorder.h"

namespace r1vk::exec {
namespace {

uint64_t buffer_bytes(uint64_t size) { return (std::max<uint64_t>(size, 16) + 255) / 256 * 256 + 256; }

}  // namespace

uint32_t step_rows(const Model& model) {
  return static_cast<uint32_t>(std::max<int64_t>(1, std::min<int64_t>(model.manifest().memory.prefill_chunk, model.context_length())));
}

ExecutorBuffers executor_buffers(const Model& model, const BatchOptions& options) {
  const plan::Manifest& m = model.manifest();
  const int64_t context = model.context_length();
  const uint32_t max_rows = step_rows(model);
  const uint32_t block_tokens = std::max<uint32_t>(options.block_tokens, 1);
  const uint64_t max_blocks = (static_cast<uint64_t>(context) + block_tokens - 1) / block_tokens;
  const uint64_t blocks = options.kv_blocks ? options.kv_blocks : uint64_t{options.max_batch} * max_blocks;
  const bool mtp = options.draft_tokens > 0;
  const bool first = model.stage().first == 0, last = model.stage().end == m.main.ops.size();
  ExecutorBuffers b;
  b.arena = m.memory.arena_bytes;
  if (mtp) b.mtp_arena = std::max<uint64_t>(m.memory.mtp_arena_bytes, 16);
  // Extra draft passes (draft_tokens > 1) alternate two MTP arenas, keep one hidden row per
  // sequence, and write rows they cannot place into a trash block after the pool's.
  const bool extra_passes = options.draft_tokens > 1;
  if (extra_passes && m.mtp.hidden_value >= 0) {
    b.mtp_arena2 = b.mtp_arena;
    const uint64_t width = static_cast<uint64_t>(m.mtp.values[static_cast<size_t>(m.mtp.hidden_value)].width);
    b.draft_hidden = std::max<uint64_t>(uint64_t{options.max_batch} * width * 4, 16);
  }
  b.kv_layer = std::max<uint64_t>((blocks + (extra_passes ? 1 : 0)) * block_tokens * static_cast<uint64_t>(m.memory.kv_width) * 2, 16);
  b.kv_layers = static_cast<uint64_t>(std::max<int64_t>(m.memory.kv_layers, 0));
  // Buckets: every power of two below the full step, then the full step (BatchExecutor::create).
  b.scratch = 16;
  auto bucket_scratch = [&](uint32_t rows) {
    b.scratch = std::max(b.scratch, program_scratch_bytes(model, ProgramId::kMain, rows));
    if (mtp) b.scratch = std::max(b.scratch, program_scratch_bytes(model, ProgramId::kMtp, rows));
  };
  for (uint32_t r = 1; r < max_rows; r *= 2) bucket_scratch(r);
  bucket_scratch(max_rows);
  if (extra_passes) b.scratch = std::max(b.scratch, program_scratch_bytes(model, ProgramId::kMtp, options.max_batch));
  // With MTP every row of a step can be sampled (a verified draft samples both of its rows).
  const uint32_t samples = mtp ? max_rows : std::max<uint32_t>(options.max_batch, 1);
  if (last) b.sample_scratch = kernels::AttentionKernels::sample_scratch_bytes(static_cast<uint32_t>(model.vocab_size()), samples);
  // Prefill buckets without kept logits run the head on the gathered sampled rows.
  if (!options.keep_logits && !mtp && first && last && max_rows > options.max_batch) {
    if (auto head = compactable_head_op(m.main)) {
      const plan::ActRef& x = m.main.ops[*head].inputs[0];
      b.head_rows = uint64_t{options.max_batch} * static_cast<uint64_t>(x.cols) * 4;
    }
  }
  return b;
}

uint64_t executor_device_bytes(const Model& model, const BatchOptions& options) {
  const ExecutorBuffers b = executor_buffers(model, options);
  uint64_t total = buffer_bytes(b.arena) + b.kv_layers * buffer_bytes(b.kv_layer) + buffer_bytes(b.scratch);
  if (b.mtp_arena) total += buffer_bytes(b.mtp_arena);
  if (b.mtp_arena2) total += buffer_bytes(b.mtp_arena2);
  if (b.draft_hidden) total += buffer_bytes(b.draft_hidden);
  if (b.sample_scratch) total += buffer_bytes(b.sample_scratch);
  if (b.head_rows) total += buffer_bytes(b.head_rows);
  return total;
}

}  // namespace r1vk::exec
