#include "kernels/linear_variants.h"

#include <algorithm>

#include "vulkan/kernel_variants.h"

namespace r1vk::kernels {

uint32_t linear_chunk(WeightFormat format) {
  return format == WeightFormat::kQ8 || format == WeightFormat::kQ4 || is_ggml_block_format(format) ? 32 : 8;
}

bool linear_rows_aligned(WeightFormat format, uint32_t cols) {
  switch (format) {
    case WeightFormat::kF32: return cols % 4 == 0;
    case WeightFormat::kF16:
    case WeightFormat::kFp8: return cols % 8 == 0;
    case WeightFormat::kQ8:
    case WeightFormat::kQ4: return true;  // rows padded to 32 or 128 columns
    case WeightFormat::kQ8_0:
    case WeightFormat::kQ4K:
    case WeightFormat::kQ6K: return true;  // rows are whole blocks of 32 or 256
  }
  return false;
}

uint64_t linear_loop_iterations(const LinearShape& s, WeightFormat format, uint32_t cols, bool normed) {
  const uint32_t chunk = linear_chunk(format);
  const bool aligned = linear_rows_aligned(format, cols);
  const uint64_t vec = aligned ? cols / chunk : 0;
  const uint64_t tail = aligned ? cols % chunk : cols;
  const uint64_t step = s.lanes() ? 1 : s.workgroup;
  const uint64_t matrix = (vec + step - 1) / step + (tail + step - 1) / step;
  // linear.comp's norm_scale: one column per iteration and lane (lanes), a loop of its own.
  return normed ? std::max<uint64_t>(matrix, (cols + step - 1) / step) : matrix;
}

LinearShape choose_linear_shape(const vk::DeviceCaps& caps, WeightFormat format, uint32_t cols, uint32_t max_tokens,
                                bool moe, bool normed) {
  const bool fixed_subgroup = caps.subgroup_size > 0 && caps.min_subgroup_size == caps.max_subgroup_size;
  const bool gemm = !moe && max_tokens > 1;
  if (caps.type == VK_PHYSICAL_DEVICE_TYPE_CPU && fixed_subgroup) {
    // One subgroup per workgroup (no barriers); a lane keeps rows x tokens sums in registers.
    // Measured on lavapipe (r1vk bench-kernels --op linear, 4096 x 14336): x loads are per-lane gathers,
    // so rows per lane amortise them; tokens per lane amortise the weight decode. GEMV: 16 rows
    // for q8/q4, 8 otherwise; GEMM: 8 rows x 4 tokens (more of either spills registers). With x
    // read as texels (push descriptors), the f16 GEMM is 1.05x faster again at 4 rows x 8 tokens:
    // its weight loads, 8 values per lane load, cost more than the x fetches (docs/linear_kernels.md).
    const bool quant = format == WeightFormat::kQ8 || format == WeightFormat::kQ4 || is_ggml_block_format(format);
    const bool wide = gemm && format == WeightFormat::kF16 && caps.push_descriptor;
    const uint32_t rows = gemm ? (wide ? 4u : 8u) : (quant ? 16u : 8u);
    LinearShape s{"lanes", caps.subgroup_size, rows, gemm ? std::min<uint32_t>(max_tokens, wide ? 8u : 4u) : 1u};
    if (linear_loop_iterations(s, format, cols, normed) < vk::kLoopIterationLimit) return s;
  }
  uint32_t wg = 128;
  while (wg > caps.max_workgroup_invocations) wg /= 2;
  const bool sg = vk::has_subgroup_reduce(caps);
  return {sg ? "sg" : "shared", wg, 4, gemm ? std::min<uint32_t>(max_tokens, 4) : 1u};
}

LinearShape fit_linear_rows(LinearShape s, uint32_t rows) {
  if (!s.lanes()) return s;
  while (s.rows > 1 && uint64_t{s.rows / 2} * s.workgroup >= rows) s.rows /= 2;
  return s;
}

std::string linear_shape_problem(const LinearShape& s, const vk::DeviceCaps& caps) {
  if (s.workgroup == 0 || s.rows == 0 || s.tokens == 0) return "workgroup, rows and tokens must be positive";
  if (s.workgroup > caps.max_workgroup_invocations) return "workgroup size exceeds maxComputeWorkGroupInvocations";
  if (s.rows * s.tokens > 64) return "more than 64 sums per invocation";
  if (s.shape == "lanes") return {};
  if (s.shape == "sg") return vk::has_subgroup_reduce(caps) ? std::string() : "the device has no subgroup arithmetic";
  if (s.shape == "shared")
    return (s.workgroup & (s.workgroup - 1)) == 0 ? std::string() : "the shared-memory reduction needs a power-of-two workgroup";
  return "unknown shape '" + s.shape + "' (lanes, sg, shared)";
}

std::string linear_variant_name(const char* op, const LinearShape& s, WeightFormat format, bool bound) {
  return std::string(op) + "_" + s.shape + (bound ? "_bound_" : "_") + weight_format_name(format);
}

bool linear_bound_format(WeightFormat format) {
  return format == WeightFormat::kF32 || format == WeightFormat::kF16 || format == WeightFormat::kQ8 ||
         format == WeightFormat::kQ4 || format == WeightFormat::kFp8;
}

bool linear_bound_preferred(const vk::DeviceCaps& caps, const LinearShape& s, WeightFormat format, uint32_t max_tokens) {
  (void)max_tokens;  // measured cheaper for GEMV and GEMM alike (docs/linear_kernels.md)
  return moe_bound_x_preferred(caps, s) && linear_bound_format(format);
}

bool moe_bound_x_preferred(const vk::DeviceCaps& caps, const LinearShape& s) {
  return caps.type == VK_PHYSICAL_DEVICE_TYPE_CPU && caps.push_descriptor && s.lanes();
}

}  // namespace r1vk::kernels
