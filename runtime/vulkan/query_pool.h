// Timestamp VkQueryPool (RAII) for kernel profiling: results come back in nanoseconds, masked to
// the queue's timestampValidBits and scaled by timestampPeriod.
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>
#include <vector>

#include "base/status.h"
#include "vulkan/device.h"

namespace r1vk::vk {

class TimestampQueryPool {
 public:
  // Fails with kUnsupported when the compute queue has no timestamps.
  static Result<TimestampQueryPool> create(const Device& device, uint32_t count);

  TimestampQueryPool() = default;
  TimestampQueryPool(TimestampQueryPool&& other) noexcept;
  TimestampQueryPool& operator=(TimestampQueryPool&& other) noexcept;
  TimestampQueryPool(const TimestampQueryPool&) = delete;
  TimestampQueryPool& operator=(const TimestampQueryPool&) = delete;
  ~TimestampQueryPool();

  VkQueryPool handle() const { return pool_; }
  uint32_t count() const { return count_; }
  // Waits for all `count()` results; returns them in ns since an arbitrary origin.
  Result<std::vector<double>> read_ns() const;

 private:
  VkDevice device_ = VK_NULL_HANDLE;
  VkQueryPool pool_ = VK_NULL_HANDLE;
  uint32_t count_ = 0;
  uint32_t valid_bits_ = 64;
  double period_ns_ = 1.0;
};

}  // namespace r1vk::vk
