// VkBuffer (RAII, move-only) sub-allocated from the Allocator. Every buffer is a storage buffer
// with a device address (DESIGN.md decision 3: kernels get pointers in push constants), so a
// buffer may exceed maxStorageBufferRange; only maxMemoryAllocationSize / maxBufferSize bound it.
#pragma once

#include <vulkan/vulkan.h>

#include <cstddef>
#include <span>
#include <string>

#include "base/status.h"
#include "vulkan/allocator.h"

namespace r1vk::vk {

class Buffer {
 public:
  // `transfer_shared`: the buffer is also used on the device's transfer queue (the expert
  // cache's swap copies); when that queue's family differs from the compute one, the buffer is
  // created VK_SHARING_MODE_CONCURRENT for both families, so neither needs ownership transfers.
  static Result<Buffer> create(const Device& device, Allocator& allocator, VkDeviceSize size, MemoryUsage usage,
                               std::string name, bool transfer_shared = false);

  Buffer() = default;
  Buffer(Buffer&& other) noexcept;
  Buffer& operator=(Buffer&& other) noexcept;
  Buffer(const Buffer&) = delete;
  Buffer& operator=(const Buffer&) = delete;
  ~Buffer();

  VkBuffer handle() const { return buffer_; }
  VkDeviceAddress address() const { return address_; }
  VkDeviceSize size() const { return size_; }
  const std::string& name() const { return name_; }
  bool host_visible() const { return allocation_.mapped != nullptr; }
  // Host view of the whole buffer; empty when the memory is not host-visible.
  std::span<std::byte> mapped() const;
  const Allocation& allocation() const { return allocation_; }
  Allocator* allocator() const { return allocator_; }

 private:
  void reset();
  VkDevice device_ = VK_NULL_HANDLE;
  Allocator* allocator_ = nullptr;
  VkBuffer buffer_ = VK_NULL_HANDLE;
  Allocation allocation_;
  VkDeviceAddress address_ = 0;
  VkDeviceSize size_ = 0;
  std::string name_;
};

}  // namespace r1vk::vk
