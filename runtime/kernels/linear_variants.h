// Which shader shape (and specialization constants) the matrix kernels use on a device, decided
// from DeviceCaps and the problem shape only, so it is testable without a device.
//   lanes   CPU drivers: lane per row, rows per lane and tokens per invocation in registers;
//   sg      GPUs with subgroup arithmetic: workgroup per row block, subgroup + shared reduction;
//   shared  GPUs without subgroup arithmetic: shared-memory tree reduction.
#pragma once

#include <cstdint>
#include <string>

#include "plan/weight_format.h"
#include "vulkan/device_caps.h"

namespace r1vk::kernels {

struct LinearShape {
  std::string shape;       // "lanes", "sg" or "shared": the variant-name infix
  uint32_t workgroup = 0;  // spec constant 0
  uint32_t rows = 0;       // spec constant 1: rows per lane (lanes) or per workgroup
  uint32_t tokens = 1;     // spec constant 2: tokens per invocation
  bool lanes() const { return shape == "lanes"; }
  uint32_t rows_per_workgroup() const { return lanes() ? rows * workgroup : rows; }
};

// Columns one chunk load covers for a format (weight_decode.glsl CHUNK).
uint32_t linear_chunk(WeightFormat format);
// Whether rows of `cols` weights allow the 16-byte chunk loads (weight_decode.glsl WEIGHT_VEC).
bool linear_rows_aligned(WeightFormat format, uint32_t cols);
// Loop iterations one invocation runs for a row of `cols` columns (kept below 65535). `normed`:
// with a fused RMSNorm (InputNorm), whose sum of squares is a loop over the columns of its own.
uint64_t linear_loop_iterations(const LinearShape& s, WeightFormat format, uint32_t cols, bool normed = false);

// The shape for a weight of `cols` columns applied to up to `max_tokens` rows of x; `moe`
// kernels take one token per invocation. Falls back from lanes to a reduction shape when a row
// would need too many loop iterations per invocation (`normed`: counting a fused RMSNorm's).
LinearShape choose_linear_shape(const vk::DeviceCaps& caps, WeightFormat format, uint32_t cols, uint32_t max_tokens,
                                bool moe, bool normed = false);
// `s` with no more rows per lane than a matrix of `rows` rows (per head or per expert) needs:
// the lanes shape halves ROWS while half as many still cover `rows` in one workgroup, so a small
// matrix (MLA's per-head absorbed projections: 16-64 rows in small models) does not compute
// clamped copies of its last row in the idle rows of a lane. Other shapes are returned as given.
LinearShape fit_linear_rows(LinearShape s, uint32_t rows);
// Empty when `s` can run on `caps`, else why not.
std::string linear_shape_problem(const LinearShape& s, const vk::DeviceCaps& caps);

// `bound`: the descriptor-bound twin (plain linear, lanes shape, linear_bound_format only).
std::string linear_variant_name(const char* op, const LinearShape& s, WeightFormat format, bool bound = false);

// Formats the descriptor-bound twin reads (f32, f16, q8, q4, fp8).
bool linear_bound_format(WeightFormat format);
// Whether plain linear kernels of this shape prefer the descriptor-bound twin on `caps`: CPU
// drivers with VK_KHR_push_descriptor running the lanes shape (measured in docs/linear_kernels.md).
bool linear_bound_preferred(const vk::DeviceCaps& caps, const LinearShape& s, WeightFormat format, uint32_t max_tokens);
// Whether the grouped MoE GEMMs of this shape prefer x bound by push descriptor, as a texel view (every format).
bool moe_bound_x_preferred(const vk::DeviceCaps& caps, const LinearShape& s);

}  // namespace r1vk::kernels
