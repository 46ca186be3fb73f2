// VK_EXT_debug_utils messenger that prints validation-layer warnings/errors and COUNTS the errors,
// so a test can fail when the layer reported any (DESIGN.md "Testing without a GPU").
#pragma once

#include <vulkan/vulkan.h>

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <string>

#include "base/status.h"

namespace r1vk::vk {

// Shared between the messenger callback (any thread) and readers; lives as long as the instance.
struct ValidationCounter {
  std::atomic<uint64_t> errors{0};
  std::atomic<uint64_t> warnings{0};
  std::mutex mutex;
  std::string last_error;  // guarded by mutex
};

class DebugMessenger {
 public:
  // `counter` must outlive the messenger.
  static Result<DebugMessenger> create(VkInstance instance, ValidationCounter* counter);

  DebugMessenger() = default;
  DebugMessenger(DebugMessenger&& other) noexcept;
  DebugMessenger& operator=(DebugMessenger&& other) noexcept;
  DebugMessenger(const DebugMessenger&) = delete;
  DebugMessenger& operator=(const DebugMessenger&) = delete;
  ~DebugMessenger();

  // Fills the create-info for chaining into VkInstanceCreateInfo, so messages emitted while
  // the instance itself is created or destroyed are counted too.
  static VkDebugUtilsMessengerCreateInfoEXT create_info(ValidationCounter* counter);

 private:
  void reset();
  VkInstance instance_ = VK_NULL_HANDLE;
  VkDebugUtilsMessengerEXT messenger_ = VK_NULL_HANDLE;
};

}  // namespace r1vk::vk
