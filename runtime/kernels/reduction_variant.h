// Which reduction variant of a row-kernel family a device runs (shared by the attention-family
// row kernels and the matrix kernels' fused embedding norm).
#pragma once

#include <cstdint>
#include <string>
#include <utility>

#include "kernels/pipeline_set.h"
#include "vulkan/kernel_variants.h"

namespace r1vk::kernels::detail {

// The row-reduction variant of a kernel family ("rows_rmsnorm", "kv_store_mla") for this device
// and its workgroup size. CPU drivers with a fixed subgroup size get one subgroup per row
// (REDUCE_MODE 0): lavapipe runs a 256-invocation workgroup as 32 SIMD batches that switch at
// each barrier, which for the demo model's 128-column rows cost ~15 us CPU per row where the
// values need a few hundred adds.
inline std::pair<std::string, uint32_t> reduction_variant(const PipelineSet& set, const std::string& family) {
  const vk::DeviceCaps& caps = set.context().caps();
  if (caps.type == VK_PHYSICAL_DEVICE_TYPE_CPU && caps.subgroup_size > 0 && caps.min_subgroup_size == caps.max_subgroup_size &&
      vk::has_subgroup_reduce(caps))
    return {family + "_sg1", caps.subgroup_size};
  const vk::ReductionKernelChoice c = vk::choose_rmsnorm(caps);
  return {family + (c.variant == "rmsnorm_sg" ? "_sg" : "_shared"), c.workgroup_size};
}

}  // namespace r1vk::kernels::detail
