// What a host-created VkDevice actually has enabled. Vulkan cannot be asked this about an existing
// device, so an adopting host hands over the VkDeviceCreateInfo it used; r1vk reads its feature
// chain and extension list and keeps only the capabilities that are both supported and enabled,
// so kernel-variant choice never relies on a feature the host left off.
#pragma once

#include <vulkan/vulkan.h>

#include <string>
#include <vector>

#include "vulkan/device_caps.h"

namespace r1vk::vk {

// `supported` (probed from the physical device) narrowed to what `info` enables.
DeviceCaps enabled_caps(const DeviceCaps& supported, const VkDeviceCreateInfo& info);

// What an adopted device must enable, as "kind name" lines for documentation and the C API:
// e.g. "feature bufferDeviceAddress (Vulkan 1.2)", "extension VK_KHR_push_descriptor (optional)".
const std::vector<std::string>& device_requirements();

}  // namespace r1vk::vk
