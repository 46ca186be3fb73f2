// VkFence (RAII): the host waits on a submit with a bounded timeout, so a hung kernel becomes an
// error value rather than a hang.
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>

#include "base/status.h"

namespace r1vk::vk {

class Fence {
 public:
  static Result<Fence> create(VkDevice device);

  Fence() = default;
  Fence(Fence&& other) noexcept;
  Fence& operator=(Fence&& other) noexcept;
  Fence(const Fence&) = delete;
  Fence& operator=(const Fence&) = delete;
  ~Fence();

  VkFence handle() const { return fence_; }
  // VK_TIMEOUT becomes a kVulkan error naming the timeout. `result` (optional) receives the
  // VkResult, so a caller can tell a lost device from other failures.
  Status wait(uint64_t timeout_ns, VkResult* result = nullptr) const;
  Status reset() const;

 private:
  VkDevice device_ = VK_NULL_HANDLE;
  VkFence fence_ = VK_NULL_HANDLE;
};

}  // namespace r1vk::vk
