// AttentionKernels: the per-row kernels (rmsnorm, swiglu, rope) and the two KV-cache stores.
#include <string>

#include "kernels/attention_kernels.h"
#include "kernels/attention_record_util.h"

namespace r1vk::kernels {

using detail::check_loop;
using detail::check_step;
using detail::check_view;
using detail::invalid;
using detail::reduction_variant;

namespace {

struct RmsnormParams {
  VkDeviceAddress x, weight, y, step;
  uint32_t x_stride, y_stride, cols;
  float eps;
};
struct SwigluParams {
  VkDeviceAddress x, y, step;
  uint32_t x_stride, y_stride, n, groups_per_row;
};
struct RopeParams {
  VkDeviceAddress x, table, step;
  uint32_t x_stride, heads, head_stride, offset, pairs, interleaved, groups_per_row, max_context;
};
struct MlaStoreParams {
  VkDeviceAddress kv, weight, table, cache, step;
  uint32_t kv_stride, c, pairs, width, max_context, block_tokens, pool_rows;
  float eps;
};
struct GqaStoreParams {
  VkDeviceAddress kv, cache, step;
  uint32_t kv_stride, width, groups_per_row, max_context, block_tokens, pool_rows;
};

constexpr uint32_t kElementwiseGroup = 64;

uint32_t groups_for(uint32_t n) { return (n + kElementwiseGroup - 1) / kElementwiseGroup; }

}  // namespace

AttentionKernels::AttentionKernels(PipelineSet& pipelines) : pipelines_(pipelines) {}

Status AttentionKernels::record_rmsnorm(vk::CommandBuffer& cmd, const ActView& in, VkDeviceAddress weight, float eps,
                                        const ActView& out, const StepView& step) {
  const std::string k = "rmsnorm";
  R1VK_TRY(check_step(k, step));
  if (in.cols == 0) return invalid(k, "zero columns");
  R1VK_TRY(check_view(k, "input", in, in.cols));
  R1VK_TRY(check_view(k, "output", out, in.cols));
  if (weight == 0) return invalid(k, "no weight address");
  const auto [variant, wg] = reduction_variant(pipelines_, "rows_rmsnorm");
  R1VK_TRY(check_loop(k, 2ull * ((in.cols + wg - 1) / wg) + 16));
  const RmsnormParams p{in.addr, weight, out.addr, step.params, in.row_stride, out.row_stride, in.cols, eps};
  return detail::record(cmd, pipelines_, variant, {wg}, p, step.max_tokens, k);
}

Status AttentionKernels::record_swiglu(vk::CommandBuffer& cmd, const ActView& in, const ActView& out, const StepView& step) {
  const std::string k = "swiglu";
  R1VK_TRY(check_step(k, step));
  if (out.cols == 0) return invalid(k, "zero columns");
  R1VK_TRY(check_view(k, "input", in, 2 * out.cols));
  R1VK_TRY(check_view(k, "output", out, out.cols));
  const SwigluParams p{in.addr, out.addr, step.params, in.row_stride, out.row_stride, out.cols, groups_for(out.cols)};
  return detail::record(cmd, pipelines_, "rows_swiglu", {kElementwiseGroup}, p, uint64_t{step.max_tokens} * p.groups_per_row, k);
}

Status AttentionKernels::record_rope(vk::CommandBuffer& cmd, const ActView& x, uint32_t heads, uint32_t head_stride,
                                     uint32_t offset, uint32_t dim, bool interleaved, const RopeTable& rope,
                                     const StepView& step) {
  const std::string k = "rope";
  R1VK_TRY(check_step(k, step));
  if (heads == 0 || dim == 0 || dim % 2 != 0) return invalid(k, "heads must be positive and dim even and positive");
  if (rope.addr == 0 || rope.pairs != dim / 2 || rope.max_context == 0)
    return invalid(k, "rope table has " + std::to_string(rope.pairs) + " pairs, dim " + std::to_string(dim) + " needs " +
                          std::to_string(dim / 2));
  if ((heads > 1 && offset + dim > head_stride) || uint64_t{heads - 1} * head_stride + offset + dim > x.cols)
    return invalid(k, "heads x head_stride does not fit the " + std::to_string(x.cols) + " columns of x");
  R1VK_TRY(check_view(k, "x", x, x.cols));
  const uint32_t gpr = groups_for(heads * (dim / 2));
  const RopeParams p{x.addr, rope.addr, step.params, x.row_stride, heads, head_stride, offset, dim / 2,
                     interleaved ? 1u : 0u, gpr, rope.max_context};
  return detail::record(cmd, pipelines_, "rows_rope", {kElementwiseGroup}, p, uint64_t{step.max_tokens} * gpr, k);
}

Status AttentionKernels::record_mla_kv_store(vk::CommandBuffer& cmd, const ActView& kv, VkDeviceAddress norm_weight,
                                             float eps, uint32_t kv_lora_rank, uint32_t rope_dim, const RopeTable& rope,
                                             const CacheView& cache, const StepView& step) {
  const std::string k = "mla_kv_store";
  R1VK_TRY(check_step(k, step));
  if (kv_lora_rank == 0 || rope_dim == 0 || rope_dim % 2 != 0) return invalid(k, "kv_lora_rank and rope_dim (even) must be positive");
  R1VK_TRY(check_view(k, "kv", kv, kv_lora_rank + rope_dim));
  if (norm_weight == 0) return invalid(k, "no kv_a_layernorm weight address");
  if (cache.addr == 0 || cache.width != kv_lora_rank + rope_dim) return invalid(k, "cache rows must hold kv_lora_rank + rope_dim values");
  if (rope.addr == 0 || rope.pairs != rope_dim / 2) return invalid(k, "rope table pairs must be rope_dim / 2");
  if (rope.max_context < cache.max_context) return invalid(k, "rope table is shorter than the cache");
  const auto [variant, wg] = reduction_variant(pipelines_, "kv_store_mla");
  R1VK_TRY(check_loop(k, 2ull * ((kv_lora_rank + wg - 1) / wg) + rope_dim / 2 / wg + 16));
  const MlaStoreParams p{kv.addr, norm_weight, rope.addr, cache.addr, step.params, kv.row_stride,
                         kv_lora_rank, rope_dim / 2, cache.width, cache.max_context, cache.block_rows(),
                         cache.pool_rows(), eps};
  return detail::record(cmd, pipelines_, variant, {wg}, p, step.max_tokens, k);
}

Status AttentionKernels::record_gqa_kv_store(vk::CommandBuffer& cmd, const ActView& kv, const CacheView& cache,
                                             const StepView& step) {
  const std::string k = "gqa_kv_store";
  R1VK_TRY(check_step(k, step));
  if (cache.addr == 0 || cache.width == 0) return invalid(k, "no cache");
  R1VK_TRY(check_view(k, "kv", kv, cache.width));
  const uint32_t gpr = groups_for(cache.width);
  const GqaStoreParams p{kv.addr, cache.addr, step.params, kv.row_stride, cache.width, gpr, cache.max_context,
                         cache.block_rows(), cache.pool_rows()};
  return detail::record(cmd, pipelines_, "kv_store_gqa", {kElementwiseGroup}, p, uint64_t{step.max_tokens} * gpr, k);
}

}  // namespace r1vk::kernels
