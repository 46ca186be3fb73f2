#include "exec/executor_memory.h"

#include <algorithm>

#include "exec/program_recorder.h"

namespace r1vk::exec {
namespace {

uint64_t buffer_bytes(uint64_t size) { return (std::max<uint64_t>(size, 16) + 255) / 256 * 256 + 256; }

}  // namespace

uint64_t executor_device_bytes(const Model& model, const BatchOptions& options) {
  // The sizes BatchExecutor::create computes; tests/exec/test_offload.cpp checks the two agree.
  const plan::Manifest& m = model.manifest();
  const int64_t context = model.context_length();
  const uint32_t max_rows = static_cast<uint32_t>(std::max<int64_t>(1, std::min<int64_t>(m.memory.prefill_chunk, context)));
  const uint32_t block_tokens = std::max<uint32_t>(options.block_tokens, 1);
  const uint64_t max_blocks = (static_cast<uint64_t>(context) + block_tokens - 1) / block_tokens;
  const uint64_t blocks = options.kv_blocks ? options.kv_blocks : uint64_t{options.max_batch} * max_blocks;
  const bool mtp = options.draft_tokens > 0;
  uint64_t total = buffer_bytes(m.memory.arena_bytes);
  if (mtp) total += buffer_bytes(m.memory.mtp_arena_bytes);
  const uint64_t layer = blocks * block_tokens * static_cast<uint64_t>(m.memory.kv_width) * 2;
  total += static_cast<uint64_t>(std::max<int64_t>(m.memory.kv_layers, 0)) * buffer_bytes(layer);
  uint64_t scratch = 16;
  const uint32_t decode_rows = options.max_batch * (1 + options.draft_tokens);
  auto bucket_scratch = [&](uint32_t rows) {
    uint64_t b = program_scratch_bytes(model, ProgramId::kMain, rows);
    if (mtp) b = std::max(b, program_scratch_bytes(model, ProgramId::kMtp, rows));
    return b;
  };
  for (uint32_t r = 1; r < max_rows && r <= decode_rows; r *= 2) scratch = std::max(scratch, bucket_scratch(r));
  scratch = std::max(scratch, bucket_scratch(max_rows));
  total += buffer_bytes(scratch);
  const uint32_t vocab = static_cast<uint32_t>(model.vocab_size());
  // With MTP every row of a step can be sampled.
  const uint32_t samples = mtp ? max_rows : std::max<uint32_t>(options.max_batch, 1);
  total += buffer_bytes(kernels::AttentionKernels::sample_scratch_bytes(vocab, samples));
  // Prefill buckets without kept logits run the head on the gathered sampled rows.
  if (!options.keep_logits && !mtp && max_rows > options.max_batch) {
    if (auto head = compactable_head_op(m.main)) {
      const plan::ActRef& x = m.main.ops[*head].inputs[0];
      total += buffer_bytes(uint64_t{options.max_batch} * static_cast<uint64_t>(x.cols) * 4);
    }
  }
  return total;
}

}  // namespace r1vk::exec
