// The descriptor-bound twin of the plain `linear` kernel (shaders/linear.comp BOUND): which
// storage-buffer ranges it binds. On CPU drivers (lavapipe) a load through a binding costs less
// than a per-lane device-address load (docs/decisions.md D3, docs/linear_kernels.md), but a
// binding holds at most maxStorageBufferRange bytes and its offset must be aligned, so a weight
// is bound in row slices and the x binding starts at an aligned offset before x. Planned from
// buffer spans only, so it is testable without a device.
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
  vk::BufferSpan x;             // where x's first element starts
  uint64_t x_elements = 0;      // f32 elements the kernel may read from x's start
  uint64_t max_range = 0;       // maxStorageBufferRange
  uint64_t offset_alignment = 0;  // minStorageBufferOffsetAlignment
};

// One dispatch: weight rows [row0, row0 + rows) (all heads when rows == input rows).
struct BoundSlice {
  uint32_t row0 = 0, rows = 0;
  vk::BufferRange data, scales;
};

struct BoundLinearPlan {
  vk::BufferRange x;
  uint32_t x_skip = 0;  // f32 elements between the x binding's start and x (added to x_offset)
  std::vector<BoundSlice> slices;
};

// The x binding alone: from the aligned offset at or before x's start, `elements` f32 past x;
// nullopt when that passes the buffer or max_range. (Grouped MoE binds x only: its experts stay
// device addresses, read through the expert table the expert cache rewrites.)
struct BoundX {
  vk::BufferRange range;
  uint32_t skip = 0;  // f32 elements between the binding's start and x (added to x_offset)
};
std::optional<BoundX> plan_bound_x(const vk::BufferSpan& x, uint64_t elements, uint64_t max_range, uint64_t offset_alignment);

// Bindings of W (data, scales) and x for formats f32..fp8; nullopt when they cannot be bound
// (another format, a range past the buffer or maxStorageBufferRange that slicing cannot fix,
// an unaligned weight offset): the caller then keeps the device-address kernel.
std::optional<BoundLinearPlan> plan_bound_linear(const BoundLinearInput& in);

}  // namespace r1vk::kernels
