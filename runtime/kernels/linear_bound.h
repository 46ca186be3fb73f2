// The descriptor-bound twin of the plain `linear` kernel (shaders/linear.comp BOUND): which
// storage-buffer ranges it binds for the weight. On CPU drivers (lavapipe) a load through a
// binding costs less than a per-lane device-address load (docs/decisions.md D3,
// docs/linear_kernels.md), but a binding holds at most maxStorageBufferRange bytes and its offset
// must be aligned, so a weight is bound in row slices. (x is bound as a texel view of its whole
// buffer: vk::BufferDirectory::texel_view.) Planned from buffer spans only, so it is testable
// without a device.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "plan/weight_format.h"
#include "vulkan/buffer_directory.h"
#include "vulkan/command_buffer.h"

namespace r1vk::kernels {

struct BoundLinearInput {
  WeightFormat format = WeightFormat::kF16;
  uint32_t rows = 0;   // rows per head
  uint32_t heads = 1;  // > 1 (linear_heads): the weight must fit one binding
  uint32_t cols = 0;
  uint32_t group = 0;  // q8/q4 group (columns per scale)
  vk::BufferSpan data, scales;  // where the weight's data / scales start (scales: f32/f16 unused)
  uint64_t max_range = 0;       // maxStorageBufferRange
  uint64_t offset_alignment = 0;  // minStorageBufferOffsetAlignment
};

// One dispatch: weight rows [row0, row0 + rows) (all heads when rows == input rows).
struct BoundSlice {
  uint32_t row0 = 0, rows = 0;
  vk::BufferRange data, scales;
};

struct BoundLinearPlan {
  std::vector<BoundSlice> slices;
};

// Bindings of W (data, scales) for formats f32..fp8; nullopt when they cannot be bound
// (another format, a range past the buffer or maxStorageBufferRange that slicing cannot fix,
// an unaligned weight offset): the caller then keeps the device-address kernel.
std::optional<BoundLinearPlan> plan_bound_linear(const BoundLinearInput& in);

}  // namespace r1vk::kernels
