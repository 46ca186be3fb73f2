// Which live buffer holds a device address. Kernels receive device addresses (DESIGN.md
// decision 3); the few kernels that bind storage buffers instead (descriptor-bound twins on CPU
// drivers, docs/decisions.md D3) look the address up here to get the VkBuffer and offset a
// descriptor needs. Every vk::Buffer registers itself on creation and leaves on destruction.
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>
#include <map>
#include <mutex>
#include <optional>

namespace r1vk::vk {

// `address` lies in `buffer` at byte `offset`; `size` bytes remain from there to the buffer's end.
struct BufferSpan {
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceSize offset = 0;
  VkDeviceSize size = 0;
};

class BufferDirectory {
 public:
  void add(VkDeviceAddress address, VkDeviceSize size, VkBuffer buffer);
  void remove(VkDeviceAddress address);
  // The buffer holding `address`; nullopt when no live buffer does (0, freed, foreign memory).
  std::optional<BufferSpan> find(VkDeviceAddress address) const;

 private:
  struct Entry {
    VkDeviceSize size = 0;
    VkBuffer buffer = VK_NULL_HANDLE;
  };
  mutable std::mutex mutex_;
  std::map<VkDeviceAddress, Entry> by_start_;  // buffers never overlap in address space
};

}  // namespace r1vk::vk
