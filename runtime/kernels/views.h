// What an op's kernels are handed: device addresses of activations, weights and per-step
// values, resolved by the executor from the plan. Kernels never see plan structures.
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>
#include <span>
#include <vector>

#include "plan/weight_format.h"

namespace r1vk::kernels {

// Rows of an activation matrix: row t starts at addr + 4 * t * row_stride bytes and holds
// `cols` f32 (or i32) values. Columns may be a window of a wider value (row_stride >= cols).
struct ActView {
  VkDeviceAddress addr = 0;
  uint32_t row_stride = 0;  // in 4-byte elements
  uint32_t cols = 0;
};

// A packed weight in the plan's layout (runtime/plan/weight_format.h).
struct WeightView {
  VkDeviceAddress data = 0;
  VkDeviceAddress scales = 0;  // 0 for f32/f16
  WeightFormat format = WeightFormat::kF16;
  uint32_t rows = 0;
  uint32_t cols = 0;
  uint32_t group = 0;
};

// The per-step values a recorded command buffer reads on the device (shaders/step.glsl, built
// by encode_step below), so one recording serves every step. `max_tokens` is the row count the
// command buffer was recorded for: 1 for decode (GEMV kernels), more for batches and prefill.
struct StepView {
  VkDeviceAddress params = 0;
  uint32_t max_tokens = 1;
};

// Row t of a step: a token of the sequence in table slot `seq`, at position `pos`.
struct StepRow {
  uint32_t pos = 0;
  uint32_t seq = 0;
};

// One sampled row: the sampler picks a token from logits row `row` with these parameters and
// writes it to out_token[i] for the i-th sample.
struct StepSample {
  uint32_t row = 0;
  uint32_t rng_counter = 0;  // advances once per step of the sequence
  float temperature = 0.0f;  // <= 0: greedy
  float top_p = 1.0f;        // 1: off
  uint32_t top_k = 0;        // 0: off
  uint32_t seed = 0;
};

// Words of the encoded step (u32): a header of 8, 2 per row, 8 per sample, then the block table
// (`slots` x `max_blocks`).
uint64_t step_words(uint32_t max_rows, uint32_t max_samples, uint32_t slots, uint32_t max_blocks);

// Encodes a step for shaders/step.glsl. `table` holds slots x max_blocks block ids (row s:
// the blocks of sequence slot s in position order). The layout reserves room for max_rows rows
// and max_samples samples so the table sits at the same place every step.
std::vector<uint32_t> encode_step(std::span<const StepRow> rows, std::span<const StepSample> samples,
                                  std::span<const uint32_t> table, uint32_t max_blocks, uint32_t max_rows,
                                  uint32_t max_samples);

// One sequence in a contiguous cache (kernel tests and benchmarks): n_tokens rows at positions
// pos0 + t of slot 0, whose block table is {0} (one block of the whole cache: a CacheView with
// block_tokens 0), and one sample of row sample_row.
struct StepParams {
  uint32_t n_tokens = 0;    // T of this submit, <= max_tokens
  uint32_t pos0 = 0;        // position of row 0; row t is at pos0 + t
  uint32_t sample_row = 0;  // which logits row the sampler reads
  uint32_t rng_counter = 0; // advances once per sampled token
  float temperature = 0.0f; // <= 0: greedy
  float top_p = 1.0f;       // 1: off
  uint32_t top_k = 0;       // 0: off
  uint32_t seed = 0;
};
std::vector<uint32_t> encode_step(const StepParams& p);

}  // namespace r1vk::kernels
