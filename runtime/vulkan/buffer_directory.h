// Which live buffer holds a device address. Kernels receive device addresses (DESIGN.md
// decision 3); the few kernels that bind storage buffers instead (descriptor-bound twins on CPU
// drivers, docs/decisions.md D3) look the address up here to get the VkBuffer and offset a
// descriptor needs. Every vk::Buffer registers itself on creation and leaves on destruction.
// It also keeps one uniform texel buffer view per buffer that a kernel asked for (created on first
// use, destroyed when the buffer leaves), so push descriptors can bind activations as texels.
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

// `address` is f32 element `element` of a R32G32B32A32_SFLOAT view of its whole buffer (texel
// element / 4, component element % 4); `elements` f32 values remain from there to the view's end.
struct TexelSpan {
  VkBufferView view = VK_NULL_HANDLE;
  uint64_t element = 0;
  uint64_t elements = 0;
};

class BufferDirectory {
 public:
  BufferDirectory() = default;
  BufferDirectory(const BufferDirectory&) = delete;
  BufferDirectory& operator=(const BufferDirectory&) = delete;
  ~BufferDirectory();

  // Texel views need the device and its maxTexelBufferElements; without this call texel_view()
  // returns nullopt. Set once by the allocator that owns the directory.
  void enable_texel_views(VkDevice device, uint64_t max_texel_elements);

  void add(VkDeviceAddress address, VkDeviceSize size, VkBuffer buffer);
  // Forgets the buffer at `address` and destroys its texel view: call only once no recorded
  // command that binds the view can still run (the buffer itself is going away then too).
  void remove(VkDeviceAddress address);
  // The buffer holding `address`; nullopt when no live buffer does (0, freed, foreign memory).
  std::optional<BufferSpan> find(VkDeviceAddress address) const;
  // The f32 texel view holding `address` (4-byte aligned); nullopt when no live buffer holds it,
  // texel views are not enabled, the address lies past the first maxTexelBufferElements texels,
  // or the view cannot be created (the caller then binds another way).
  std::optional<TexelSpan> texel_view(VkDeviceAddress address);
  // texel_view(address) when `elements` f32 values from `address` lie inside the view and every
  // element index of them fits 32 bits (shaders index views with uint); nullopt otherwise.
  std::optional<TexelSpan> texel_window(VkDeviceAddress address, uint64_t elements);

 private:
  struct Entry {
    VkDeviceSize size = 0;
    VkBuffer buffer = VK_NULL_HANDLE;
    VkBufferView texel_view = VK_NULL_HANDLE;
  };
  VkDevice device_ = VK_NULL_HANDLE;
  uint64_t max_texel_elements_ = 0;
  mutable std::mutex mutex_;
  std::map<VkDeviceAddress, Entry> by_start_;  // buffers never overlap in address space
};

}  // namespace r1vk::vk
