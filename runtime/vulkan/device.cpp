#include "vulkan/device.h"

#include <algorithm>
#include <string>
#include <vector>

#include "vulkan/vk_check.h"

namespace r1vk::vk {

Result<std::unique_ptr<Device>> Device::create(const PhysicalDevice& physical, uint32_t instance_api_version) {
  const DeviceCaps& caps = physical.caps;
  const auto missing = missing_required_features(caps);
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    return make_error(ErrorCode::kUnsupported, "Vulkan device " + caps.name + " cannot run r1vk: it lacks " + list);
  }
  const bool v13 = std::min(instance_api_version, caps.api_version) >= VK_API_VERSION_1_3;

  VkPhysicalDeviceVulkan11Features f11{};
  f11.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES;
  f11.storageBuffer16BitAccess = VK_TRUE;
  VkPhysicalDeviceVulkan12Features f12{};
  f12.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES;
  f12.bufferDeviceAddress = VK_TRUE;
  f12.timelineSemaphore = VK_TRUE;
  f12.shaderFloat16 = caps.shader_float16;
  f12.shaderInt8 = caps.shader_int8;
  f12.storageBuffer8BitAccess = caps.storage_buffer_8bit;
  f12.scalarBlockLayout = caps.scalar_block_layout;
  f12.hostQueryReset = VK_FALSE;
  VkPhysicalDeviceVulkan13Features f13{};
  f13.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES;
  f13.subgroupSizeControl = caps.subgroup_size_control;
  f13.computeFullSubgroups = caps.compute_full_subgroups;
  f13.synchronization2 = caps.synchronization2;
  f13.maintenance4 = caps.maintenance4;
  f13.shaderIntegerDotProduct = caps.integer_dot_product;
  VkPhysicalDeviceFeatures2 feats{};
  feats.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2;
  feats.features.shaderInt16 = caps.shader_int16;
  feats.features.shaderInt64 = VK_TRUE;
  feats.pNext = &f11;
  f11.pNext = &f12;
  if (v13) f12.pNext = &f13;

  std::vector<const char*> extensions;
  if (caps.memory_budget) extensions.push_back(VK_EXT_MEMORY_BUDGET_EXTENSION_NAME);
  if (caps.push_descriptor) extensions.push_back(VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME);

  const float priority = 1.0f;
  VkDeviceQueueCreateInfo queue_info{};
  queue_info.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO;
  queue_info.queueFamilyIndex = caps.compute_queue_family;
  queue_info.queueCount = 1;
  queue_info.pQueuePriorities = &priority;

  VkDeviceCreateInfo info{};
  info.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO;
  info.pNext = &feats;
  info.queueCreateInfoCount = 1;
  info.pQueueCreateInfos = &queue_info;
  info.enabledExtensionCount = static_cast<uint32_t>(extensions.size());
  info.ppEnabledExtensionNames = extensions.data();

  std::unique_ptr<Device> dev(new Device());
  R1VK_VK_TRY(vkCreateDevice(physical.handle, &info, nullptr, &dev->device_));
  dev->physical_ = physical.handle;
  dev->caps_ = caps;
  vkGetDeviceQueue(dev->device_, caps.compute_queue_family, 0, &dev->queue_);
  vkGetPhysicalDeviceMemoryProperties(physical.handle, &dev->memory_);
  if (caps.push_descriptor)
    dev->push_descriptor_fn_ = reinterpret_cast<PFN_vkCmdPushDescriptorSetKHR>(
        vkGetDeviceProcAddr(dev->device_, "vkCmdPushDescriptorSetKHR"));
  return dev;
}

Result<std::unique_ptr<Device>> Device::adopt(VkPhysicalDevice physical, VkDevice device, VkQueue queue,
                                              const DeviceCaps& caps, PFN_vkGetDeviceProcAddr get_device_proc_addr) {
  const auto missing = missing_required_features(caps);
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    return make_error(ErrorCode::kUnsupported, "the host's Vulkan device (" + caps.name + ") was created without what r1vk needs: " +
                                                   list + " (enable it in the VkDeviceCreateInfo)");
  }
  std::unique_ptr<Device> dev(new Device());
  dev->device_ = device;
  dev->physical_ = physical;
  dev->queue_ = queue;
  dev->caps_ = caps;
  dev->owned_ = false;
  vkGetPhysicalDeviceMemoryProperties(physical, &dev->memory_);
  if (!get_device_proc_addr) get_device_proc_addr = vkGetDeviceProcAddr;
  if (caps.push_descriptor)
    dev->push_descriptor_fn_ = reinterpret_cast<PFN_vkCmdPushDescriptorSetKHR>(get_device_proc_addr(device, "vkCmdPushDescriptorSetKHR"));
  if (caps.push_descriptor && !dev->push_descriptor_fn_) dev->caps_.push_descriptor = false;
  return dev;
}

Device::~Device() {
  if (owned_ && device_ != VK_NULL_HANDLE) {
    vkDeviceWaitIdle(device_);
    vkDestroyDevice(device_, nullptr);
  }
}

Status Device::wait_idle() const {
  R1VK_VK_TRY(vkDeviceWaitIdle(device_));
  return ok_status();
}

}  // namespace r1vk::vk
