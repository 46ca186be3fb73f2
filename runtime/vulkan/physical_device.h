// Physical-device enumeration and choice: discrete > integrated > virtual > CPU (lavapipe when
// nothing else exists), skipping devices that lack a required feature; `--device N` overrides.
#pragma once

#include <vulkan/vulkan.h>

#include <optional>
#include <span>
#include <vector>

#include "base/status.h"
#include "vulkan/device_caps.h"

namespace r1vk::vk {

struct PhysicalDevice {
  VkPhysicalDevice handle = VK_NULL_HANDLE;
  DeviceCaps caps;
};

Result<std::vector<PhysicalDevice>> enumerate_physical_devices(VkInstance instance, uint32_t instance_api_version);

// Higher is preferred.
int device_type_rank(VkPhysicalDeviceType type);

// Index of the best device that has every required feature, or an error listing why none does.
Result<size_t> default_device_index(std::span<const PhysicalDevice> devices);

// `requested` (from --device) when set and valid, else the default. A requested index that is out
// of range is kInvalidArgument; a requested device missing a required feature is kUnsupported.
Result<size_t> select_device_index(std::span<const PhysicalDevice> devices, std::optional<int> requested);

}  // namespace r1vk::vk
