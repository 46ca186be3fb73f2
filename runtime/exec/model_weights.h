// A plan's tensors on the device: packed into a few large buffers ("pages", each within
// maxMemoryAllocationSize), checksums verified as each blob is uploaded. Kernels address a
// tensor by page address + offset, so no tensor needs a binding of its own. Tensors the expert
// placement (exec/expert_placement.h) sends to the host go to host-resident pages instead:
// the same addressing, read in place over the bus.
#pragma once

#include <functional>
#include <vector>

#include "base/status.h"
#include "kernels/views.h"
#include "plan/loaded_plan.h"
#include "vulkan/context.h"

namespace r1vk::exec {

// Where a tensor's bytes are: its page and the offsets of its data and scales in it (what a
// buffer copy needs; kernels use the view's addresses instead).
struct TensorLocation {
  VkBuffer page = VK_NULL_HANDLE;
  uint64_t data = 0, scales = 0;
  bool on_host = false;
};

class ModelWeights {
 public:
  // Each blob goes up in pieces of at most `chunk_bytes` (LoadedPlan::stream_tensor, checksums
  // verified as the pieces pass), so the plan's resident pages stay at one chunk whatever the
  // largest tensor; a discrete card's staging buffer is at most one chunk too (vk::upload).
  // progress(bytes uploaded, total) after each chunk; `cancelled` is polled after each chunk.
  // With `needed` (one flag per tensor), only the flagged tensors are uploaded (a pipeline
  // stage's); the others' views stay empty. `on_host` (one flag per plan tensor, or empty:
  // none) marks the tensors placed in host memory.
  static Result<ModelWeights> upload(vk::Context& ctx, const plan::LoadedPlan& plan,
                                     const std::function<void(uint64_t, uint64_t)>& progress = {},
                                     const std::function<bool()>& cancelled = {}, const std::vector<bool>& needed = {},
                                     const std::vector<bool>& on_host = {}, uint64_t chunk_bytes = 64ull << 20);

  const kernels::WeightView& view(size_t tensor) const { return views_[tensor]; }
  size_t size() const { return views_.size(); }
  // Tensor `tensor`'s page and offsets; an empty location for a tensor that was not uploaded.
  const TensorLocation& location(size_t tensor) const { return locations_[tensor]; }
  uint64_t device_bytes() const { return device_bytes_; }  // pages in device memory
  uint64_t host_bytes() const { return host_bytes_; }      // host-resident pages

 private:
  std::vector<vk::Buffer> pages_;
  std::vector<kernels::WeightView> views_;
  std::vector<TensorLocation> locations_;
  uint64_t device_bytes_ = 0;
  uint64_t host_bytes_ = 0;
};

}  // namespace r1vk::exec
