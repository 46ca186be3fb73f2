// What an op's kernels are handed: device addresses of activations, weights and per-step
// values, resolved by the executor from the plan. Kernels never see plan structures.
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>

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

// The per-step values a recorded command buffer reads on the device (struct StepParams below,
// shaders/step.glsl), so one recording serves every step. `max_tokens` is the row count the
// command buffer was recorded for: 1 for decode (GEMV kernels), the prefill chunk otherwise.
struct StepView {
  VkDeviceAddress params = 0;
  uint32_t max_tokens = 1;
};

// Host mirror of shaders/step.glsl's StepParams (std430, 32 bytes).
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
static_assert(sizeof(StepParams) == 32);

}  // namespace r1vk::kernels
