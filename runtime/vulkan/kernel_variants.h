// Which row of shaders/variants.cmake (and which specialization constants) each kernel uses on
// a given device. The decision is made here, from DeviceCaps only, so it is testable and the
// same plan runs on every device (DESIGN.md decision 1).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "vulkan/device_caps.h"

namespace r1vk::vk {

// lavapipe (gallivm) silently ends a shader's loops after 65535 iterations per invocation, so
// every kernel keeps its per-invocation trip count below this, on every device.
inline constexpr uint64_t kLoopIterationLimit = 65535;

struct ReductionKernelChoice {
  std::string variant;          // name in the variant table
  uint32_t workgroup_size = 0;  // spec constant 0
};

struct GemvChoice {
  std::string variant;
  uint32_t workgroup_size = 0;  // spec constant 0
  // Rows one workgroup produces. The lane-per-row variant (gemv_f16_lanes) needs a multiple of
  // the workgroup size: spec constant 1 is then rows per lane, otherwise rows per workgroup.
  uint32_t rows_per_workgroup = 0;
};

// Subgroup arithmetic in compute shaders, usable for workgroup reductions.
bool has_subgroup_reduce(const DeviceCaps& caps);

ReductionKernelChoice choose_rmsnorm(const DeviceCaps& caps);
GemvChoice choose_gemv_f16(const DeviceCaps& caps);
uint32_t elementwise_workgroup_size(const DeviceCaps& caps);

bool gemv_is_lane_per_row(const GemvChoice& choice);
// gemv_f16_lanes_desc: buffers bound by push descriptors, W split into maxStorageBufferRange slices.
bool gemv_uses_descriptors(const GemvChoice& choice);
// Empty string when `choice` can run on `caps`, else why not.
std::string gemv_choice_problem(const GemvChoice& choice, const DeviceCaps& caps);
// The choice to use for a column count: the lane-per-row shader needs cols % 16 == 0 and
// cols / 16 < kLoopIterationLimit, and hands other shapes to a row-per-workgroup variant.
GemvChoice gemv_choice_for_cols(const GemvChoice& choice, const DeviceCaps& caps, uint32_t cols);
// The pipeline's specialization constants for a column count: {workgroup, rows, vector width},
// vector width being the halves per load that `cols` allows (8, 2 or 1; the lane variant has none).
std::vector<uint32_t> gemv_spec_constants(const GemvChoice& choice, uint32_t cols);
// Loop iterations one invocation runs for `cols` (checked against kLoopIterationLimit).
uint64_t gemv_loop_iterations(const GemvChoice& choice, uint32_t cols);

}  // namespace r1vk::vk
