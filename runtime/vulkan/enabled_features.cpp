#include "vulkan/enabled_features.h"

#include <cstring>

namespace r1vk::vk {
namespace {

// The parts of a feature chain r1vk cares about, merged from the Vulkan 1.1/1.2/1.3 aggregate
// structs and the older per-feature structs (a host may use either form).
struct Enabled {
  bool shader_int16 = false, shader_int64 = false;
  bool storage_16bit = false, storage_8bit = false;
  bool float16 = false, int8 = false, scalar_layout = false;
  bool bda = false, timeline = false;
  bool subgroup_size_control = false, full_subgroups = false, sync2 = false, maintenance4 = false, dot_product = false;
};

struct ChainHeader {
  VkStructureType sType;
  const void* pNext;
};

void read_chain(const void* next, Enabled& e) {
  for (int guard = 0; next && guard < 64; ++guard) {
    const auto* h = static_cast<const ChainHeader*>(next);
    switch (h->sType) {
      case VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2: {
        const auto* f = static_cast<const VkPhysicalDeviceFeatures2*>(next);
        e.shader_int16 |= f->features.shaderInt16 != 0;
        e.shader_int64 |= f->features.shaderInt64 != 0;
        break;
      }
      case VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES:
        e.storage_16bit |= static_cast<const VkPhysicalDeviceVulkan11Features*>(next)->storageBuffer16BitAccess != 0;
        break;
      case VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES: {
        const auto* f = static_cast<const VkPhysicalDeviceVulkan12Features*>(next);
        e.float16 |= f->shaderFloat16 != 0;
        e.int8 |= f->shaderInt8 != 0;
        e.storage_8bit |= f->storageBuffer8BitAccess != 0;
        e.scalar_layout |= f->scalarBlockLayout != 0;
        e.bda |= f->bufferDeviceAddress != 0;
        e.timeline |= f->timelineSemaphore != 0;
        break;
      }
      case VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES: {
        const auto* f = static_cast<const VkPhysicalDeviceVulkan13Features*>(next);
        e.subgroup_size_control |= f->subgroupSizeControl != 0;
        e.full_subgroups |= f->computeFullSubgroups != 0;
        e.sync2 |= f->synchronization2 != 0;
        e.maintenance4 |= f->maintenance4 != 0;
        e.dot_product |= f->shaderIntegerDotProduct != 0;
        break;
      }
      case VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_16BIT_STORAGE_FEATURES:
        e.storage_16bit |= static_cast<const VkPhysicalDevice16BitStorageFeatures*>(next)->storageBuffer16BitAccess != 0;
        break;
      case VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_8BIT_STORAGE_FEATURES:
        e.storage_8bit |= static_cast<const VkPhysicalDevice8BitStorageFeatures*>(next)->storageBuffer8BitAccess != 0;
        break;
      case VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SHADER_FLOAT16_INT8_FEATURES: {
        const auto* f = static_cast<const VkPhysicalDeviceShaderFloat16Int8Features*>(next);
        e.float16 |= f->shaderFloat16 != 0;
        e.int8 |= f->shaderInt8 != 0;
        break;
      }
      case VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SCALAR_BLOCK_LAYOUT_FEATURES:
        e.scalar_layout |= static_cast<const VkPhysicalDeviceScalarBlockLayoutFeatures*>(next)->scalarBlockLayout != 0;
        break;
      case VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_BUFFER_DEVICE_ADDRESS_FEATURES:
        e.bda |= static_cast<const VkPhysicalDeviceBufferDeviceAddressFeatures*>(next)->bufferDeviceAddress != 0;
        break;
      case VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_TIMELINE_SEMAPHORE_FEATURES:
        e.timeline |= static_cast<const VkPhysicalDeviceTimelineSemaphoreFeatures*>(next)->timelineSemaphore != 0;
        break;
      case VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_SUBGROUP_SIZE_CONTROL_FEATURES: {
        const auto* f = static_cast<const VkPhysicalDeviceSubgroupSizeControlFeatures*>(next);
        e.subgroup_size_control |= f->subgroupSizeControl != 0;
        e.full_subgroups |= f->computeFullSubgroups != 0;
        break;
      }
      default: break;
    }
    next = h->pNext;
  }
}

bool has_extension(const VkDeviceCreateInfo& info, const char* name) {
  for (uint32_t i = 0; i < info.enabledExtensionCount; ++i)
    if (info.ppEnabledExtensionNames && info.ppEnabledExtensionNames[i] && std::strcmp(info.ppEnabledExtensionNames[i], name) == 0)
      return true;
  return false;
}

}  // namespace

DeviceCaps enabled_caps(const DeviceCaps& supported, const VkDeviceCreateInfo& info) {
  Enabled e;
  if (info.pEnabledFeatures) {
    e.shader_int16 = info.pEnabledFeatures->shaderInt16 != 0;
    e.shader_int64 = info.pEnabledFeatures->shaderInt64 != 0;
  }
  read_chain(info.pNext, e);
  // Promoted extensions count as enabled by their feature bits; the bits are what gates use.
  DeviceCaps c = supported;
  c.shader_int16 = c.shader_int16 && e.shader_int16;
  c.shader_int64 = c.shader_int64 && e.shader_int64;
  c.storage_buffer_16bit = c.storage_buffer_16bit && e.storage_16bit;
  c.storage_buffer_8bit = c.storage_buffer_8bit && e.storage_8bit;
  c.shader_float16 = c.shader_float16 && e.float16;
  c.shader_int8 = c.shader_int8 && e.int8;
  c.scalar_block_layout = c.scalar_block_layout && e.scalar_layout;
  c.buffer_device_address = c.buffer_device_address && e.bda;
  c.timeline_semaphore = c.timeline_semaphore && e.timeline;
  c.subgroup_size_control = c.subgroup_size_control && e.subgroup_size_control;
  c.compute_full_subgroups = c.compute_full_subgroups && e.full_subgroups;
  c.synchronization2 = c.synchronization2 && e.sync2;
  c.maintenance4 = c.maintenance4 && e.maintenance4;
  c.integer_dot_product = c.integer_dot_product && e.dot_product;
  c.integer_dot_product_4x8_accelerated = c.integer_dot_product_4x8_accelerated && c.integer_dot_product;
  c.memory_budget = c.memory_budget && has_extension(info, VK_EXT_MEMORY_BUDGET_EXTENSION_NAME);
  c.push_descriptor = c.push_descriptor && has_extension(info, VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME);
  c.cooperative_matrix = c.cooperative_matrix && (has_extension(info, "VK_KHR_cooperative_matrix") ||
                                                  has_extension(info, "VK_NV_cooperative_matrix"));
  return c;
}

const std::vector<std::string>& device_requirements() {
  static const std::vector<std::string> kList = {
      "version Vulkan 1.2 (instance apiVersion and device)",
      "feature storageBuffer16BitAccess (Vulkan 1.1)",
      "feature bufferDeviceAddress (Vulkan 1.2)",
      "feature timelineSemaphore (Vulkan 1.2)",
      "feature shaderInt64 (Vulkan 1.0)",
      "queue a family with VK_QUEUE_COMPUTE_BIT",
      "optional feature shaderFloat16, shaderInt8, storageBuffer8BitAccess, scalarBlockLayout (Vulkan 1.2)",
      "optional feature shaderInt16 (Vulkan 1.0)",
      "optional feature subgroupSizeControl, computeFullSubgroups, synchronization2, maintenance4, "
      "shaderIntegerDotProduct (Vulkan 1.3)",
      "optional extension VK_KHR_push_descriptor (faster GEMV on CPU drivers such as lavapipe)",
      "optional extension VK_EXT_memory_budget",
  };
  return kList;
}

}  // namespace r1vk::vk
