#include "vulkan/timeline_semaphore.h"

#include <string>
#include <utility>

#include "vulkan/fault_injection.h"
#include "vulkan/vk_check.h"

namespace r1vk::vk {

Result<TimelineSemaphore> TimelineSemaphore::create(VkDevice device, uint64_t initial_value) {
  VkSemaphoreTypeCreateInfo type{};
  type.sType = VK_STRUCTURE_TYPE_SEMAPHORE_TYPE_CREATE_INFO;
  type.semaphoreType = VK_SEMAPHORE_TYPE_TIMELINE;
  type.initialValue = initial_value;
  VkSemaphoreCreateInfo info{};
  info.sType = VK_STRUCTURE_TYPE_SEMAPHORE_CREATE_INFO;
  info.pNext = &type;
  TimelineSemaphore s;
  R1VK_VK_TRY(vkCreateSemaphore(device, &info, nullptr, &s.semaphore_));
  s.device_ = device;
  return s;
}

TimelineSemaphore::TimelineSemaphore(TimelineSemaphore&& o) noexcept
    : device_(std::exchange(o.device_, VK_NULL_HANDLE)), semaphore_(std::exchange(o.semaphore_, VK_NULL_HANDLE)) {}

TimelineSemaphore& TimelineSemaphore::operator=(TimelineSemaphore&& o) noexcept {
  if (this != &o) {
    if (semaphore_ != VK_NULL_HANDLE) vkDestroySemaphore(device_, semaphore_, nullptr);
    device_ = std::exchange(o.device_, VK_NULL_HANDLE);
    semaphore_ = std::exchange(o.semaphore_, VK_NULL_HANDLE);
  }
  return *this;
}

TimelineSemaphore::~TimelineSemaphore() {
  if (semaphore_ != VK_NULL_HANDLE) vkDestroySemaphore(device_, semaphore_, nullptr);
}

Result<uint64_t> TimelineSemaphore::value(VkResult* result) const {
  uint64_t v = 0;
  const VkResult r = vkGetSemaphoreCounterValue(device_, semaphore_, &v);
  if (result) *result = r;
  R1VK_VK_TRY(r);
  return v;
}

Status TimelineSemaphore::wait(uint64_t value, uint64_t timeout_ns, VkResult* result) const {
  VkSemaphoreWaitInfo info{};
  info.sType = VK_STRUCTURE_TYPE_SEMAPHORE_WAIT_INFO;
  info.semaphoreCount = 1;
  info.pSemaphores = &semaphore_;
  info.pValues = &value;
  // An injected loss still waits for real, so no work is left running on buffers about to be freed.
  const VkResult injected = fault::check(fault::Site::kWait);
  VkResult r = vkWaitSemaphores(device_, &info, timeout_ns);
  if (injected != VK_SUCCESS) r = injected;
  if (result) *result = r;
  if (r == VK_TIMEOUT)
    return make_error(ErrorCode::kVulkan, "vkWaitSemaphores timed out waiting for timeline value " + std::to_string(value));
  R1VK_VK_TRY(r);
  return ok_status();
}

Status TimelineSemaphore::signal_from_host(uint64_t value) const {
  VkSemaphoreSignalInfo info{};
  info.sType = VK_STRUCTURE_TYPE_SEMAPHORE_SIGNAL_INFO;
  info.semaphore = semaphore_;
  info.value = value;
  R1VK_VK_TRY(vkSignalSemaphore(device_, &info));
  return ok_status();
}

}  // namespace r1vk::vk
