#include "vulkan/fence.h"

#include <string>
#include <utility>

#include "vulkan/fault_injection.h"
#include "vulkan/vk_check.h"

namespace r1vk::vk {

Result<Fence> Fence::create(VkDevice device) {
  VkFenceCreateInfo info{};
  info.sType = VK_STRUCTURE_TYPE_FENCE_CREATE_INFO;
  Fence f;
  R1VK_VK_TRY(vkCreateFence(device, &info, nullptr, &f.fence_));
  f.device_ = device;
  return f;
}

Fence::Fence(Fence&& o) noexcept
    : device_(std::exchange(o.device_, VK_NULL_HANDLE)), fence_(std::exchange(o.fence_, VK_NULL_HANDLE)) {}

Fence& Fence::operator=(Fence&& o) noexcept {
  if (this != &o) {
    if (fence_ != VK_NULL_HANDLE) vkDestroyFence(device_, fence_, nullptr);
    device_ = std::exchange(o.device_, VK_NULL_HANDLE);
    fence_ = std::exchange(o.fence_, VK_NULL_HANDLE);
  }
  return *this;
}

Fence::~Fence() {
  if (fence_ != VK_NULL_HANDLE) vkDestroyFence(device_, fence_, nullptr);
}

Status Fence::wait(uint64_t timeout_ns, VkResult* result) const {
  // An injected loss still waits for real, so no work is left running on buffers about to be freed.
  const VkResult injected = fault::check(fault::Site::kWait);
  VkResult r = vkWaitForFences(device_, 1, &fence_, VK_TRUE, timeout_ns);
  if (injected != VK_SUCCESS) r = injected;
  if (result) *result = r;
  if (r == VK_TIMEOUT)
    return make_error(ErrorCode::kVulkan, "vkWaitForFences timed out after " + std::to_string(timeout_ns / 1000000) + " ms");
  R1VK_VK_TRY(r);
  return ok_status();
}

Status Fence::reset() const {
  R1VK_VK_TRY(vkResetFences(device_, 1, &fence_));
  return ok_status();
}

}  // namespace r1vk::vk
