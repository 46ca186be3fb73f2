#include "vulkan/kernels.h"

#include <algorithm>
#include <cstring>
#include <numeric>

#include "embedded_shaders.h"

namespace r1vk::vk {
namespace {

// Push-constant blocks, laid out as the shaders declare them (buffer references are 8 bytes).
struct RmsnormParams {
  VkDeviceAddress x, weight, y;
  uint32_t rows, dim;
  float eps;
};
struct ElementwiseParams {
  VkDeviceAddress a, b, out;
  uint32_t n;
};
struct GemvParams {
  VkDeviceAddress w, x, y;
  uint32_t rows, cols;
};
struct CopyParams {
  VkDeviceAddress src, dst;
  uint32_t n_chunks;  // 32-byte chunks
};

template <typename T>
std::span<const std::byte> bytes_of(const T& v) {
  return std::as_bytes(std::span<const T, 1>(&v, 1));
}

Status need(const Buffer& b, uint64_t bytes, const char* kernel, const char* role) {
  if (bytes <= b.size()) return ok_status();
  return make_error(ErrorCode::kOutOfRange, std::string(kernel) + ": " + role + " needs " + std::to_string(bytes) +
                                               " bytes but buffer " + b.name() + " has " + std::to_string(b.size()));
}

}  // namespace

Kernels::Kernels(Context& ctx) : ctx_(ctx), gemv_(choose_gemv_f16(ctx.caps())) {}

Result<const ComputePipeline*> Kernels::pipeline(const std::string& variant, std::vector<uint32_t> spec,
                                                 uint32_t push_size, uint32_t storage_bindings) {
  std::string key = variant;
  for (uint32_t s : spec) key += ":" + std::to_string(s);
  if (auto it = pipelines_.find(key); it != pipelines_.end()) return &it->second;
  const shaders::EmbeddedShader* shader = shaders::find(variant);
  if (!shader) return make_error(ErrorCode::kInternal, "no embedded shader variant named " + variant);
  ComputePipelineDesc desc;
  desc.name = key;
  desc.spirv = shader->spirv();
  desc.spec_constants = std::move(spec);
  desc.push_constant_size = push_size;
  desc.storage_bindings = storage_bindings;
  R1VK_ASSIGN_OR_RETURN(auto p, ComputePipeline::create(ctx_.device(), &ctx_.pipeline_cache(), desc));
  auto [it, inserted] = pipelines_.emplace(key, std::move(p));
  (void)inserted;
  return &it->second;
}

Status Kernels::dispatch_groups(CommandBuffer& cmd, uint64_t groups) const {
  const uint64_t max_x = ctx_.caps().max_workgroup_count[0];
  const uint64_t max_y = ctx_.caps().max_workgroup_count[1];
  const uint64_t x = std::min(groups, max_x);
  const uint64_t y = (groups + x - 1) / x;
  if (y > max_y)
    return make_error(ErrorCode::kOutOfRange, std::to_string(groups) + " workgroups exceed the device's dispatch grid");
  cmd.dispatch(static_cast<uint32_t>(x), static_cast<uint32_t>(y));
  return ok_status();
}

Status Kernels::record_rmsnorm(CommandBuffer& cmd, const Buffer& x, const Buffer& weight, const Buffer& y,
                               uint32_t rows, uint32_t dim, float eps) {
  if (rows == 0 || dim == 0) return make_error(ErrorCode::kInvalidArgument, "rmsnorm: rows and dim must be positive");
  const uint64_t n = uint64_t{rows} * dim;
  R1VK_TRY(need(x, n * 4, "rmsnorm", "x"));
  R1VK_TRY(need(y, n * 4, "rmsnorm", "y"));
  R1VK_TRY(need(weight, uint64_t{dim} * 4, "rmsnorm", "weight"));
  if (n > UINT32_MAX) return make_error(ErrorCode::kOutOfRange, "rmsnorm: more than 2^32 elements");
  const ReductionKernelChoice c = choose_rmsnorm(ctx_.caps());
  if (2 * (uint64_t{dim} + c.workgroup_size - 1) / c.workgroup_size >= kLoopIterationLimit)
    return make_error(ErrorCode::kOutOfRange, "rmsnorm: rows of " + std::to_string(dim) + " values are too long");
  const RmsnormParams params{x.address(), weight.address(), y.address(), rows, dim, eps};
  R1VK_ASSIGN_OR_RETURN(const ComputePipeline* p, pipeline(c.variant, {c.workgroup_size}, sizeof params));
  cmd.bind(*p);
  cmd.push_constants(*p, bytes_of(params));
  return dispatch_groups(cmd, rows);
}

Status Kernels::record_elementwise(CommandBuffer& cmd, const char* variant, const Buffer& a, const Buffer& b,
                                   const Buffer& out, uint32_t n) {
  if (n == 0) return make_error(ErrorCode::kInvalidArgument, std::string(variant) + ": n must be positive");
  R1VK_TRY(need(a, uint64_t{n} * 4, variant, "input a"));
  R1VK_TRY(need(b, uint64_t{n} * 4, variant, "input b"));
  R1VK_TRY(need(out, uint64_t{n} * 4, variant, "output"));
  const uint32_t wg = elementwise_workgroup_size(ctx_.caps());
  const ElementwiseParams params{a.address(), b.address(), out.address(), n};
  R1VK_ASSIGN_OR_RETURN(const ComputePipeline* p, pipeline(variant, {wg}, sizeof params));
  cmd.bind(*p);
  cmd.push_constants(*p, bytes_of(params));
  // Grid-stride loop in the shader: cap the grid, every element is still covered.
  return dispatch_groups(cmd, std::min<uint64_t>((uint64_t{n} + wg - 1) / wg, 65535));
}

Status Kernels::record_add(CommandBuffer& cmd, const Buffer& a, const Buffer& b, const Buffer& out, uint32_t n) {
  return record_elementwise(cmd, "add_f32", a, b, out, n);
}

Status Kernels::record_swiglu(CommandBuffer& cmd, const Buffer& gate, const Buffer& up, const Buffer& out, uint32_t n) {
  return record_elementwise(cmd, "swiglu_f32", gate, up, out, n);
}

Status Kernels::record_gemv_f16(CommandBuffer& cmd, const Buffer& w, const Buffer& x, const Buffer& y, uint32_t rows,
                                uint32_t cols) {
  if (rows == 0 || cols == 0) return make_error(ErrorCode::kInvalidArgument, "gemv_f16: rows and cols must be positive");
  const uint64_t elems = uint64_t{rows} * cols;
  // The shader indexes W with 32-bit element offsets.
  if (elems > UINT32_MAX)
    return make_error(ErrorCode::kOutOfRange, "gemv_f16: " + std::to_string(elems) + " weights exceed 2^32 elements");
  R1VK_TRY(need(w, elems * 2, "gemv_f16", "W"));
  R1VK_TRY(need(x, uint64_t{cols} * 4, "gemv_f16", "x"));
  R1VK_TRY(need(y, uint64_t{rows} * 4, "gemv_f16", "y"));
  const GemvChoice c = gemv_choice_for_cols(gemv_, ctx_.caps(), cols);
  if (const std::string problem = gemv_choice_problem(c, ctx_.caps()); !problem.empty())
    return make_error(ErrorCode::kInvalidArgument, "gemv_f16: variant " + c.variant + " wg " +
                                                       std::to_string(c.workgroup_size) + " rows/wg " +
                                                       std::to_string(c.rows_per_workgroup) + ": " + problem);
  if (gemv_loop_iterations(c, cols) >= kLoopIterationLimit)
    return make_error(ErrorCode::kOutOfRange, "gemv_f16: rows of " + std::to_string(cols) + " columns need " +
                                                  std::to_string(gemv_loop_iterations(c, cols)) +
                                                  " loop iterations per invocation with " + c.variant +
                                                  "; CPU drivers stop at 65535 (use a larger workgroup)");
  if (gemv_uses_descriptors(c)) return record_gemv_f16_sliced(cmd, c, w, x, y, rows, cols);
  const GemvParams params{w.address(), x.address(), y.address(), rows, cols};
  R1VK_ASSIGN_OR_RETURN(const ComputePipeline* p,
                        pipeline(c.variant, gemv_spec_constants(c, cols), sizeof params));
  cmd.bind(*p);
  cmd.push_constants(*p, bytes_of(params));
  return dispatch_groups(cmd, (uint64_t{rows} + c.rows_per_workgroup - 1) / c.rows_per_workgroup);
}

Status Kernels::record_gemv_f16_sliced(CommandBuffer& cmd, const GemvChoice& c, const Buffer& w, const Buffer& x,
                                       const Buffer& y, uint32_t rows, uint32_t cols) {
  const uint64_t range = ctx_.caps().max_storage_buffer_range;
  const uint64_t row_bytes = uint64_t{cols} * 2;
  if (uint64_t{cols} * 4 > range)
    return make_error(ErrorCode::kOutOfRange, "gemv_f16: x of " + std::to_string(cols) +
                                                  " floats exceeds maxStorageBufferRange; use a BDA variant");
  // Slice starts must keep the y (and W) binding offsets aligned: r0 * 4 is a multiple of the
  // offset alignment, and r0 * row_bytes then is too (cols is even).
  const uint64_t align = std::max<uint64_t>(ctx_.caps().min_storage_buffer_offset_alignment, 4);
  const uint64_t step = std::lcm<uint64_t>(c.rows_per_workgroup, align / 4);
  const uint64_t slice_rows = range / row_bytes / step * step;
  if (slice_rows == 0)
    return make_error(ErrorCode::kOutOfRange, "gemv_f16: " + std::to_string(step) + " rows of " + std::to_string(cols) +
                                                  " halves exceed maxStorageBufferRange; use a BDA variant");
  // Push constants {rows in slice, cols}; bindings W slice, x, y slice.
  R1VK_ASSIGN_OR_RETURN(const ComputePipeline* p,
                        pipeline(c.variant, gemv_spec_constants(c, cols), 2 * sizeof(uint32_t), 3));
  cmd.bind(*p);
  for (uint64_t r0 = 0; r0 < rows; r0 += slice_rows) {
    const uint64_t n = std::min<uint64_t>(slice_rows, rows - r0);
    const BufferRange ranges[3] = {{w.handle(), r0 * row_bytes, n * row_bytes},
                                   {x.handle(), 0, uint64_t{cols} * 4},
                                   {y.handle(), r0 * 4, n * 4}};
    const uint32_t slice_push[2] = {static_cast<uint32_t>(n), cols};
    cmd.push_storage_buffers(*p, ranges);
    cmd.push_constants(*p, std::as_bytes(std::span<const uint32_t>(slice_push)));
    R1VK_TRY(dispatch_groups(cmd, (n + c.rows_per_workgroup - 1) / c.rows_per_workgroup));
  }
  return ok_status();
}

Status Kernels::record_copy(CommandBuffer& cmd, const Buffer& src, const Buffer& dst, uint64_t bytes) {
  if (bytes == 0 || bytes % 32 != 0) return make_error(ErrorCode::kInvalidArgument, "copy: size must be a positive multiple of 32");
  if (bytes / 32 > UINT32_MAX) return make_error(ErrorCode::kOutOfRange, "copy: too large");
  R1VK_TRY(need(src, bytes, "copy", "src"));
  R1VK_TRY(need(dst, bytes, "copy", "dst"));
  const uint32_t wg = elementwise_workgroup_size(ctx_.caps());
  const CopyParams params{src.address(), dst.address(), static_cast<uint32_t>(bytes / 32)};
  R1VK_ASSIGN_OR_RETURN(const ComputePipeline* p, pipeline("copy_u32x4", {wg}, sizeof params));
  cmd.bind(*p);
  cmd.push_constants(*p, bytes_of(params));
  return dispatch_groups(cmd, std::min<uint64_t>((bytes / 32 + wg - 1) / wg, 65535));
}

}  // namespace r1vk::vk
