// Which row of shaders/variants.cmake (and which specialization constants) each kernel uses on
// a given device. The decision is made here, from DeviceCaps only, so it is testable and the
// same plan runs on every device (DESIGN.md decision 1).
#pragma once

#include <cstdint>
#include <string>

#include "vulkan/device_caps.h"

namespace r1vk::vk {

struct ReductionKernelChoice {
  std::string variant;          // name in the variant table
  uint32_t workgroup_size = 0;  // spec constant 0
};

struct GemvChoice {
  std::string variant;
  uint32_t workgroup_size = 0;      // spec constant 0
  uint32_t rows_per_workgroup = 0;  // spec constant 1
};

// Subgroup arithmetic in compute shaders, usable for workgroup reductions.
bool has_subgroup_reduce(const DeviceCaps& caps);

ReductionKernelChoice choose_rmsnorm(const DeviceCaps& caps);
GemvChoice choose_gemv_f16(const DeviceCaps& caps);
uint32_t elementwise_workgroup_size(const DeviceCaps& caps);

// GEMV vector width (spec constant 2) a column count allows: 8, 2 or 1 halves per load.
uint32_t gemv_vector_width(uint32_t cols);

}  // namespace r1vk::vk
