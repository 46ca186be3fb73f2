// What a physical device can do, probed once: the facts shader-variant choice, the allocator and
// `r1vk devices` rely on. Nothing here is assumed; every limit is read from the driver.
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace r1vk::vk {

struct MemoryHeapInfo {
  uint64_t size = 0;
  bool device_local = false;
  uint64_t budget = 0;  // from VK_EXT_memory_budget; 0 when the extension is absent
  uint64_t usage = 0;
};

struct DeviceCaps {
  std::string name;
  std::string driver_name;
  std::string driver_info;
  VkPhysicalDeviceType type = VK_PHYSICAL_DEVICE_TYPE_OTHER;
  uint32_t api_version = 0;
  uint32_t vendor_id = 0;
  uint32_t device_id = 0;
  uint8_t pipeline_cache_uuid[VK_UUID_SIZE] = {};

  // Arithmetic and storage types.
  bool shader_float16 = false;
  bool shader_int8 = false;
  bool shader_int16 = false;
  bool shader_int64 = false;
  bool storage_buffer_16bit = false;
  bool storage_buffer_8bit = false;
  bool scalar_block_layout = false;

  // Subgroups.
  uint32_t subgroup_size = 0;
  uint32_t min_subgroup_size = 0;
  uint32_t max_subgroup_size = 0;
  VkSubgroupFeatureFlags subgroup_ops = 0;
  bool subgroup_ops_in_compute = false;
  bool subgroup_size_control = false;
  bool compute_full_subgroups = false;

  // Addressing, sync, matrix/dot-product hardware.
  bool buffer_device_address = false;
  bool timeline_semaphore = false;
  bool synchronization2 = false;
  bool maintenance4 = false;
  bool integer_dot_product = false;
  bool integer_dot_product_4x8_accelerated = false;
  bool cooperative_matrix = false;  // VK_KHR_cooperative_matrix or VK_NV_cooperative_matrix
  bool memory_budget = false;       // VK_EXT_memory_budget
  bool push_descriptor = false;     // VK_KHR_push_descriptor (descriptor-bound GEMV on CPU drivers)

  // Limits.
  uint64_t max_storage_buffer_range = 0;
  uint64_t max_texel_buffer_elements = 0;  // texels one buffer view may span
  uint64_t max_memory_allocation_size = 0;
  uint64_t max_buffer_size = 0;  // maintenance4; 0 when unknown
  uint64_t non_coherent_atom_size = 0;
  uint64_t min_storage_buffer_offset_alignment = 0;
  uint32_t max_compute_shared_memory_size = 0;
  uint32_t max_workgroup_invocations = 0;
  uint32_t max_workgroup_size[3] = {};
  uint32_t max_workgroup_count[3] = {};
  uint32_t max_push_constants_size = 0;
  float timestamp_period_ns = 0;
  uint32_t timestamp_valid_bits = 0;  // of the compute queue family; 0 = no timestamps

  uint32_t compute_queue_family = UINT32_MAX;
  std::vector<MemoryHeapInfo> heaps;

  bool has_subgroup_op(VkSubgroupFeatureFlagBits op) const { return subgroup_ops_in_compute && (subgroup_ops & op); }
};

// `instance_api_version` caps which feature structs may be queried.
Result<DeviceCaps> probe_device_caps(VkPhysicalDevice device, uint32_t instance_api_version);

// Features r1vk cannot run without, as readable names; empty when the device qualifies.
std::vector<std::string> missing_required_features(const DeviceCaps& caps);

const char* device_type_name(VkPhysicalDeviceType type);
std::string version_string(uint32_t vk_version);
std::string subgroup_ops_string(VkSubgroupFeatureFlags ops);

}  // namespace r1vk::vk
