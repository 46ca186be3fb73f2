#include "vulkan/device_caps.h"

#include <algorithm>
#include <cstring>

#include "vulkan/vk_check.h"

namespace r1vk::vk {
namespace {

Result<std::vector<std::string>> device_extensions(VkPhysicalDevice device) {
  uint32_t count = 0;
  R1VK_VK_TRY(vkEnumerateDeviceExtensionProperties(device, nullptr, &count, nullptr));
  std::vector<VkExtensionProperties> props(count);
  R1VK_VK_TRY(vkEnumerateDeviceExtensionProperties(device, nullptr, &count, props.data()));
  std::vector<std::string> names;
  for (const auto& p : props) names.emplace_back(p.extensionName);
  return names;
}

void probe_queue(VkPhysicalDevice device, DeviceCaps& caps) {
  uint32_t count = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(device, &count, nullptr);
  std::vector<VkQueueFamilyProperties> families(count);
  vkGetPhysicalDeviceQueueFamilyProperties(device, &count, families.data());
  // Prefer a compute family without graphics (async compute on real GPUs), else any with compute.
  for (int pass = 0; pass < 2 && caps.compute_queue_family == UINT32_MAX; ++pass) {
    for (uint32_t i = 0; i < count; ++i) {
      const VkQueueFlags f = families[i].queueFlags;
      if (!(f & VK_QUEUE_COMPUTE_BIT)) continue;
      if (pass == 0 && (f & VK_QUEUE_GRAPHICS_BIT)) continue;
      caps.compute_queue_family = i;
      caps.timestamp_valid_bits = families[i].timestampValidBits;
      break;
    }
  }
}

void probe_memory(VkPhysicalDevice device, DeviceCaps& caps) {
  VkPhysicalDeviceMemoryBudgetPropertiesEXT budget{};
  budget.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_BUDGET_PROPERTIES_EXT;
  VkPhysicalDeviceMemoryProperties2 mem{};
  mem.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_MEMORY_PROPERTIES_2;
  if (caps.memory_budget) mem.pNext = &budget;
  vkGetPhysicalDeviceMemoryProperties2(device, &mem);
  for (uint32_t i = 0; i < mem.memoryProperties.memoryHeapCount; ++i) {
    MemoryHeapInfo h;
    h.size = mem.memoryProperties.memoryHeaps[i].size;
    h.device_local = (mem.memoryProperties.memoryHeaps[i].flags & VK_MEMORY_HEAP_DEVICE_LOCAL_BIT) != 0;
    if (caps.memory_budget) {
      h.budget = budget.heapBudget[i];
      h.usage = budget.heapUsage[i];
    }
    caps.heaps.push_back(h);
  }
}

}  // namespace

Result<DeviceCaps> probe_device_caps(VkPhysicalDevice device, uint32_t instance_api_version) {
  DeviceCaps caps;
  R1VK_ASSIGN_OR_RETURN(auto exts, device_extensions(device));
  auto has_ext = [&](const char* n) { return std::find(exts.begin(), exts.end(), n) != exts.end(); };

  VkPhysicalDeviceProperties base_props{};
  vkGetPhysicalDeviceProperties(device, &base_props);
  caps.api_version = base_props.apiVersion;
  // Structs of a version newer than both instance and device must not be chained.
  const uint32_t usable = std::min(instance_api_version, base_props.apiVersion);
  const bool v12 = usable >= VK_API_VERSION_1_2;
  const bool v13 = usable >= VK_API_VERSION_1_3;
  caps.memory_budget = has_ext(VK_EXT_MEMORY_BUDGET_EXTENSION_NAME);
  caps.push_descriptor = has_ext(VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME);
  caps.cooperative_matrix = has_ext("VK_KHR_cooperative_matrix") || has_ext("VK_NV_cooperative_matrix");

  VkPhysicalDeviceVulkan11Properties p11{};
  p11.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_PROPERTIES;
  VkPhysicalDeviceVulkan12Properties p12{};
  p12.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_PROPERTIES;
  VkPhysicalDeviceVulkan13Properties p13{};
  p13.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_PROPERTIES;
  VkPhysicalDeviceProperties2 props{};
  props.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_PROPERTIES_2;
  if (v12) {
    props.pNext = &p11;
    p11.pNext = &p12;
    if (v13) p12.pNext = &p13;
  }
  vkGetPhysicalDeviceProperties2(device, &props);

  VkPhysicalDeviceVulkan11Features f11{};
  f11.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES;
  VkPhysicalDeviceVulkan12Features f12{};
  f12.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES;
  VkPhysicalDeviceVulkan13Features f13{};
  f13.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES;
  VkPhysicalDeviceFeatures2 feats{};
  feats.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2;
  if (v12) {
    feats.pNext = &f11;
    f11.pNext = &f12;
    if (v13) f12.pNext = &f13;
  }
  vkGetPhysicalDeviceFeatures2(device, &feats);

  const VkPhysicalDeviceLimits& lim = base_props.limits;
  caps.name = base_props.deviceName;
  caps.type = base_props.deviceType;
  caps.vendor_id = base_props.vendorID;
  caps.device_id = base_props.deviceID;
  std::memcpy(caps.pipeline_cache_uuid, base_props.pipelineCacheUUID, VK_UUID_SIZE);
  caps.shader_int16 = feats.features.shaderInt16;
  caps.shader_int64 = feats.features.shaderInt64;
  caps.max_storage_buffer_range = lim.maxStorageBufferRange;
  caps.max_texel_buffer_elements = lim.maxTexelBufferElements;
  caps.non_coherent_atom_size = lim.nonCoherentAtomSize;
  caps.min_storage_buffer_offset_alignment = lim.minStorageBufferOffsetAlignment;
  caps.max_compute_shared_memory_size = lim.maxComputeSharedMemorySize;
  caps.max_workgroup_invocations = lim.maxComputeWorkGroupInvocations;
  for (int i = 0; i < 3; ++i) {
    caps.max_workgroup_size[i] = lim.maxComputeWorkGroupSize[i];
    caps.max_workgroup_count[i] = lim.maxComputeWorkGroupCount[i];
  }
  caps.max_push_constants_size = lim.maxPushConstantsSize;
  caps.timestamp_period_ns = lim.timestampPeriod;

  if (v12) {
    caps.driver_name = p12.driverName;
    caps.driver_info = p12.driverInfo;
    caps.subgroup_size = p11.subgroupSize;
    caps.subgroup_ops = p11.subgroupSupportedOperations;
    caps.subgroup_ops_in_compute = (p11.subgroupSupportedStages & VK_SHADER_STAGE_COMPUTE_BIT) != 0;
    caps.max_memory_allocation_size = p11.maxMemoryAllocationSize;
    caps.storage_buffer_16bit = f11.storageBuffer16BitAccess;
    caps.shader_float16 = f12.shaderFloat16;
    caps.shader_int8 = f12.shaderInt8;
    caps.storage_buffer_8bit = f12.storageBuffer8BitAccess;
    caps.scalar_block_layout = f12.scalarBlockLayout;
    caps.buffer_device_address = f12.bufferDeviceAddress;
    caps.timeline_semaphore = f12.timelineSemaphore;
  }
  caps.min_subgroup_size = caps.max_subgroup_size = caps.subgroup_size;
  if (v13) {
    caps.min_subgroup_size = p13.minSubgroupSize;
    caps.max_subgroup_size = p13.maxSubgroupSize;
    caps.max_buffer_size = p13.maxBufferSize;
    caps.subgroup_size_control = f13.subgroupSizeControl;
    caps.compute_full_subgroups = f13.computeFullSubgroups;
    caps.synchronization2 = f13.synchronization2;
    caps.maintenance4 = f13.maintenance4;
    caps.integer_dot_product = f13.shaderIntegerDotProduct;
    caps.integer_dot_product_4x8_accelerated = p13.integerDotProduct4x8BitPackedSignedAccelerated;
  }
  probe_queue(device, caps);
  probe_memory(device, caps);
  return caps;
}

std::vector<std::string> missing_required_features(const DeviceCaps& caps) {
  std::vector<std::string> missing;
  if (caps.api_version < VK_API_VERSION_1_2) missing.push_back("Vulkan 1.2 (device reports " + version_string(caps.api_version) + ")");
  if (caps.compute_queue_family == UINT32_MAX) missing.push_back("a compute queue");
  if (!caps.storage_buffer_16bit) missing.push_back("storageBuffer16BitAccess");
  if (!caps.buffer_device_address) missing.push_back("bufferDeviceAddress");
  if (!caps.timeline_semaphore) missing.push_back("timelineSemaphore");
  if (!caps.shader_int64) missing.push_back("shaderInt64");
  if (caps.max_push_constants_size < 128) missing.push_back("maxPushConstantsSize >= 128");
  return missing;
}

const char* device_type_name(VkPhysicalDeviceType type) {
  switch (type) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return "discrete GPU";
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return "integrated GPU";
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return "virtual GPU";
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return "CPU";
    default: return "other";
  }
}

std::string version_string(uint32_t v) {
  return std::to_string(VK_API_VERSION_MAJOR(v)) + "." + std::to_string(VK_API_VERSION_MINOR(v)) + "." +
         std::to_string(VK_API_VERSION_PATCH(v));
}

std::string subgroup_ops_string(VkSubgroupFeatureFlags ops) {
  static constexpr std::pair<VkSubgroupFeatureFlagBits, const char*> kNames[] = {
      {VK_SUBGROUP_FEATURE_BASIC_BIT, "basic"},         {VK_SUBGROUP_FEATURE_VOTE_BIT, "vote"},
      {VK_SUBGROUP_FEATURE_ARITHMETIC_BIT, "arithmetic"}, {VK_SUBGROUP_FEATURE_BALLOT_BIT, "ballot"},
      {VK_SUBGROUP_FEATURE_SHUFFLE_BIT, "shuffle"},     {VK_SUBGROUP_FEATURE_SHUFFLE_RELATIVE_BIT, "shuffle_relative"},
      {VK_SUBGROUP_FEATURE_CLUSTERED_BIT, "clustered"}, {VK_SUBGROUP_FEATURE_QUAD_BIT, "quad"},
  };
  std::string out;
  for (const auto& [bit, name] : kNames) {
    if (!(ops & bit)) continue;
    if (!out.empty()) out += ",";
    out += name;
  }
  return out.empty() ? "none" : out;
}

}  // namespace r1vk::vk
