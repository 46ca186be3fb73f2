// Timeline VkSemaphore (RAII): every submit signals the next value, so later work (or the host)
// can wait for "step N done" without one fence per submit.
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>

#include "base/status.h"

namespace r1vk::vk {

class TimelineSemaphore {
 public:
  static Result<TimelineSemaphore> create(VkDevice device, uint64_t initial_value = 0);

  TimelineSemaphore() = default;
  TimelineSemaphore(TimelineSemaphore&& other) noexcept;
  TimelineSemaphore& operator=(TimelineSemaphore&& other) noexcept;
  TimelineSemaphore(const TimelineSemaphore&) = delete;
  TimelineSemaphore& operator=(const TimelineSemaphore&) = delete;
  ~TimelineSemaphore();

  VkSemaphore handle() const { return semaphore_; }
  // `result` (optional) receives the VkResult, so a caller can tell a lost device from other failures.
  Result<uint64_t> value(VkResult* result = nullptr) const;
  Status wait(uint64_t value, uint64_t timeout_ns, VkResult* result = nullptr) const;
  Status signal_from_host(uint64_t value) const;

 private:
  VkDevice device_ = VK_NULL_HANDLE;
  VkSemaphore semaphore_ = VK_NULL_HANDLE;
};

}  // namespace r1vk::vk
