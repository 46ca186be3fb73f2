#include "vulkan/kernel_variants.h"

#include <algorithm>

namespace r1vk::vk {

bool has_subgroup_reduce(const DeviceCaps& caps) {
  return caps.has_subgroup_op(VK_SUBGROUP_FEATURE_BASIC_BIT) && caps.has_subgroup_op(VK_SUBGROUP_FEATURE_ARITHMETIC_BIT);
}

ReductionKernelChoice choose_rmsnorm(const DeviceCaps& caps) {
  // Power of two (the shared-memory tree needs it), within the device limit.
  uint32_t wg = 256;
  while (wg > caps.max_workgroup_invocations) wg /= 2;
  return {has_subgroup_reduce(caps) ? "rmsnorm_sg" : "rmsnorm_shared", wg};
}

GemvChoice choose_gemv_f16(const DeviceCaps& caps) {
  const bool fixed_subgroup = caps.min_subgroup_size == caps.max_subgroup_size && caps.subgroup_size > 0;
  // CPU drivers (lavapipe) run a workgroup on one thread, subgroup-wide SIMD: a workgroup of
  // exactly one subgroup needs no barrier, and several rows per workgroup reuse each x load.
  if (caps.type == VK_PHYSICAL_DEVICE_TYPE_CPU && fixed_subgroup && has_subgroup_reduce(caps))
    return {"gemv_f16_sg1", caps.subgroup_size, 4};
  uint32_t wg = 128;
  while (wg > caps.max_workgroup_invocations) wg /= 2;
  if (has_subgroup_reduce(caps)) return {"gemv_f16_sg", wg, 2};
  return {"gemv_f16_shared", wg, 2};
}

uint32_t elementwise_workgroup_size(const DeviceCaps& caps) { return std::min<uint32_t>(256, caps.max_workgroup_invocations); }

uint32_t gemv_vector_width(uint32_t cols) {
  if (cols % 8 == 0) return 8;
  if (cols % 2 == 0) return 2;
  return 1;
}

}  // namespace r1vk::vk
