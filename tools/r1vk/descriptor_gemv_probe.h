// Experiment behind DESIGN.md decision 3 (docs/decisions.md): the lane-per-row f16 GEMV with its
// buffers bound through descriptors instead of buffer device addresses, timed on the same data.
// Only `r1vk bench-kernels --descriptors` uses it; the runtime itself is BDA-only.
#pragma once

#include <cstdint>

#include "base/status.h"
#include "kernel_bench.h"
#include "vulkan/buffer.h"
#include "vulkan/context.h"
#include "vulkan/kernel_variants.h"

namespace r1vk::cli {

// Runs y = W x through descriptors with `choice`'s workgroup shape (must be gemv_f16_lanes) and
// returns the timing; y is left in `y` for comparison with the BDA result.
Result<TimingStats> bench_gemv_f16_descriptors(vk::Context& ctx, const vk::GemvChoice& choice, const vk::Buffer& w,
                                               const vk::Buffer& x, const vk::Buffer& y, uint32_t rows, uint32_t cols,
                                               int iters);

}  // namespace r1vk::cli
