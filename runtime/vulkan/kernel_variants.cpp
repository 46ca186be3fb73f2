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
  // CPU drivers (lavapipe) run a workgroup on one thread as subgroup-wide SIMD and pay per
  // lane for every load: one row per lane, 8 rows per lane, one subgroup per workgroup
  // (measured in docs/decisions.md: about half the CPU time of the row-per-workgroup shape).
  // Needs cols % 16 == 0; gemv_choice_for_cols() falls back for other shapes.
  // Bound through push descriptors where available: on lavapipe descriptor loads cost 1.4-1.8x
  // less CPU than BDA loads (docs/decisions.md D3).
  if (caps.type == VK_PHYSICAL_DEVICE_TYPE_CPU && fixed_subgroup)
    return {caps.push_descriptor ? "gemv_f16_lanes_desc" : "gemv_f16_lanes", caps.subgroup_size, 8 * caps.subgroup_size};
  uint32_t wg = 128;
  while (wg > caps.max_workgroup_invocations) wg /= 2;
  if (has_subgroup_reduce(caps)) return {"gemv_f16_sg", wg, 2};
  return {"gemv_f16_shared", wg, 2};
}

uint32_t elementwise_workgroup_size(const DeviceCaps& caps) { return std::min<uint32_t>(256, caps.max_workgroup_invocations); }

bool gemv_is_lane_per_row(const GemvChoice& choice) { return choice.variant.starts_with("gemv_f16_lanes"); }

bool gemv_uses_descriptors(const GemvChoice& choice) { return choice.variant == "gemv_f16_lanes_desc"; }

std::string gemv_choice_problem(const GemvChoice& c, const DeviceCaps& caps) {
  if (c.workgroup_size == 0 || c.rows_per_workgroup == 0) return "workgroup size and rows per workgroup must be positive";
  if (c.workgroup_size > caps.max_workgroup_invocations) return "workgroup size exceeds maxComputeWorkGroupInvocations";
  const bool pow2 = (c.workgroup_size & (c.workgroup_size - 1)) == 0;
  if (c.variant == "gemv_f16_shared" && !pow2) return "the shared-memory reduction needs a power-of-two workgroup";
  if (c.variant == "gemv_f16_sg1" && (caps.min_subgroup_size != caps.max_subgroup_size || c.workgroup_size != caps.subgroup_size))
    return "gemv_f16_sg1 needs a fixed subgroup size equal to the workgroup size";
  if (gemv_uses_descriptors(c) && !caps.push_descriptor) return "gemv_f16_lanes_desc needs VK_KHR_push_descriptor";
  if (gemv_is_lane_per_row(c) && c.rows_per_workgroup % c.workgroup_size != 0)
    return "gemv_f16_lanes needs rows per workgroup to be a multiple of the workgroup size";
  return {};
}

GemvChoice gemv_choice_for_cols(const GemvChoice& choice, const DeviceCaps& caps, uint32_t cols) {
  if (!gemv_is_lane_per_row(choice) || (cols % 16 == 0 && cols / 16 < kLoopIterationLimit)) return choice;
  // Rows that are not 32-byte aligned: the row-per-workgroup shader handles any column count.
  const uint32_t wg = caps.subgroup_size ? caps.subgroup_size : 64;
  return {has_subgroup_reduce(caps) && caps.min_subgroup_size == caps.max_subgroup_size ? "gemv_f16_sg1" : "gemv_f16_shared", wg, 4};
}

std::vector<uint32_t> gemv_spec_constants(const GemvChoice& c, uint32_t cols) {
  if (gemv_is_lane_per_row(c)) return {c.workgroup_size, c.rows_per_workgroup / c.workgroup_size};
  const uint32_t vec = cols % 8 == 0 ? 8 : (cols % 2 == 0 ? 2 : 1);
  return {c.workgroup_size, c.rows_per_workgroup, vec};
}

uint64_t gemv_loop_iterations(const GemvChoice& c, uint32_t cols) {
  if (gemv_is_lane_per_row(c)) return cols / 16;
  const uint64_t loads = cols / gemv_spec_constants(c, cols)[2];  // vector loads per row
  return (loads + c.workgroup_size - 1) / c.workgroup_size;
}

}  // namespace r1vk::vk
