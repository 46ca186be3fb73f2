#include "vulkan/device.h"

#include <algorithm>
#include <cstdlib>
#include <string>
#include <vector>

#include "vulkan/vk_check.h"

namespace r1vk::vk {
namespace {

// The family for copies beside the compute queue: one with transfer but neither compute nor
// graphics first (a DMA engine that runs while the compute units work), else any other family
// that can transfer (graphics and compute families can, spec "Queues"); `compute` when there is
// no other family. R1VK_TRANSFER_QUEUE=compute forces the compute queue (to compare the paths).
uint32_t pick_transfer_family(VkPhysicalDevice physical, uint32_t compute) {
  if (const char* env = std::getenv("R1VK_TRANSFER_QUEUE"); env && std::string(env) == "compute") return compute;
  uint32_t count = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(physical, &count, nullptr);
  std::vector<VkQueueFamilyProperties> families(count);
  vkGetPhysicalDeviceQueueFamilyProperties(physical, &count, families.data());
  constexpr VkQueueFlags kCanTransfer = VK_QUEUE_TRANSFER_BIT | VK_QUEUE_COMPUTE_BIT | VK_QUEUE_GRAPHICS_BIT;
  for (int pass = 0; pass < 2; ++pass) {
    for (uint32_t i = 0; i < count; ++i) {
      const VkQueueFlags f = families[i].queueFlags;
      if (i == compute || families[i].queueCount == 0 || !(f & kCanTransfer)) continue;
      if (pass == 0 && (f & (VK_QUEUE_COMPUTE_BIT | VK_QUEUE_GRAPHICS_BIT))) continue;
      return i;
    }
  }
  return compute;
}

}  // namespace

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
  const uint32_t transfer_family = pick_transfer_family(physical.handle, caps.compute_queue_family);
  VkDeviceQueueCreateInfo queue_infos[2]{};
  for (VkDeviceQueueCreateInfo& q : queue_infos) {
    q.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO;
    q.queueCount = 1;
    q.pQueuePriorities = &priority;
  }
  queue_infos[0].queueFamilyIndex = caps.compute_queue_family;
  queue_infos[1].queueFamilyIndex = transfer_family;

  VkDeviceCreateInfo info{};
  info.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO;
  info.pNext = &feats;
  info.queueCreateInfoCount = transfer_family != caps.compute_queue_family ? 2 : 1;
  info.pQueueCreateInfos = queue_infos;
  info.enabledExtensionCount = static_cast<uint32_t>(extensions.size());
  info.ppEnabledExtensionNames = extensions.data();

  std::unique_ptr<Device> dev(new Device());
  R1VK_VK_TRY(vkCreateDevice(physical.handle, &info, nullptr, &dev->device_));
  dev->physical_ = physical.handle;
  dev->caps_ = caps;
  vkGetDeviceQueue(dev->device_, caps.compute_queue_family, 0, &dev->queue_);
  dev->transfer_family_ = transfer_family;
  vkGetDeviceQueue(dev->device_, transfer_family, 0, &dev->transfer_queue_);
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
  // The host gave r1vk one queue: copies share it.
  dev->transfer_queue_ = queue;
  dev->transfer_family_ = caps.compute_queue_family;
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
