// Logical VkDevice (RAII) with one compute queue, a transfer queue for copies that overlap the
// compute work when the device has a second queue family, and the features r1vk kernels use:
// required ones (16-bit storage, buffer device address, timeline semaphores, int64) plus every
// optional one the device has (fp16/int8 arithmetic, 8-bit storage, subgroup size control, ...).
#pragma once

#include <vulkan/vulkan.h>

#include <memory>

#include "base/status.h"
#include "vulkan/device_caps.h"
#include "vulkan/physical_device.h"

namespace r1vk::vk {

class Device {
 public:
  static Result<std::unique_ptr<Device>> create(const PhysicalDevice& physical, uint32_t instance_api_version);
  // Wraps a host's device and queue without owning them: never destroyed or waited idle here
  // (vkDeviceWaitIdle would need the host's other queues externally synchronised). `caps` must be
  // narrowed to what the host enabled (enabled_caps) with compute_queue_family set to `family`.
  // Extension entry points are resolved through `get_device_proc_addr` when given.
  static Result<std::unique_ptr<Device>> adopt(VkPhysicalDevice physical, VkDevice device, VkQueue queue,
                                               const DeviceCaps& caps, PFN_vkGetDeviceProcAddr get_device_proc_addr = nullptr);

  Device(const Device&) = delete;
  Device& operator=(const Device&) = delete;
  ~Device();

  VkDevice handle() const { return device_; }
  VkPhysicalDevice physical() const { return physical_; }
  VkQueue compute_queue() const { return queue_; }
  uint32_t queue_family() const { return caps_.compute_queue_family; }
  // The queue for copies that should overlap compute work (the expert cache's swaps): queue 0 of
  // a transfer-only family when the device has one (DMA engines on discrete GPUs), else of
  // another family that can transfer; else the compute queue itself (lavapipe, integrated GPUs,
  // adopted devices), and then transfer_queue_family() == queue_family().
  VkQueue transfer_queue() const { return transfer_queue_; }
  uint32_t transfer_queue_family() const { return transfer_family_; }
  bool separate_transfer_queue() const { return transfer_family_ != caps_.compute_queue_family; }
  const DeviceCaps& caps() const { return caps_; }
  const VkPhysicalDeviceMemoryProperties& memory_properties() const { return memory_; }

  Status wait_idle() const;
  bool owned() const { return owned_; }
  // vkCmdPushDescriptorSetKHR, or null without VK_KHR_push_descriptor.
  PFN_vkCmdPushDescriptorSetKHR push_descriptor_fn() const { return push_descriptor_fn_; }

 private:
  Device() = default;
  VkDevice device_ = VK_NULL_HANDLE;
  VkPhysicalDevice physical_ = VK_NULL_HANDLE;
  VkQueue queue_ = VK_NULL_HANDLE;
  VkQueue transfer_queue_ = VK_NULL_HANDLE;
  uint32_t transfer_family_ = 0;
  bool owned_ = true;
  DeviceCaps caps_;
  VkPhysicalDeviceMemoryProperties memory_{};
  PFN_vkCmdPushDescriptorSetKHR push_descriptor_fn_ = nullptr;
};

}  // namespace r1vk::vk
