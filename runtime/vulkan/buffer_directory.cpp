#include "vulkan/buffer_directory.h"

#include <algorithm>

namespace r1vk::vk {

BufferDirectory::~BufferDirectory() {
  for (auto& [address, e] : by_start_)
    if (e.texel_view != VK_NULL_HANDLE) vkDestroyBufferView(device_, e.texel_view, nullptr);
}

void BufferDirectory::enable_texel_views(VkDevice device, uint64_t max_texel_elements) {
  std::lock_guard<std::mutex> lock(mutex_);
  device_ = device;
  max_texel_elements_ = max_texel_elements;
}

void BufferDirectory::add(VkDeviceAddress address, VkDeviceSize size, VkBuffer buffer) {
  std::lock_guard<std::mutex> lock(mutex_);
  by_start_[address] = Entry{size, buffer};
}

void BufferDirectory::remove(VkDeviceAddress address) {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = by_start_.find(address);
  if (it == by_start_.end()) return;
  if (it->second.texel_view != VK_NULL_HANDLE) vkDestroyBufferView(device_, it->second.texel_view, nullptr);
  by_start_.erase(it);
}

std::optional<BufferSpan> BufferDirectory::find(VkDeviceAddress address) const {
  std::lock_guard<std::mutex> lock(mutex_);
  auto it = by_start_.upper_bound(address);
  if (it == by_start_.begin()) return std::nullopt;
  --it;
  const VkDeviceSize offset = address - it->first;
  if (offset >= it->second.size) return std::nullopt;
  return BufferSpan{it->second.buffer, offset, it->second.size - offset};
}

std::optional<TexelSpan> BufferDirectory::texel_view(VkDeviceAddress address) {
  std::lock_guard<std::mutex> lock(mutex_);
  if (device_ == VK_NULL_HANDLE || max_texel_elements_ == 0 || address % 4 != 0) return std::nullopt;
  auto it = by_start_.upper_bound(address);
  if (it == by_start_.begin()) return std::nullopt;
  --it;
  Entry& e = it->second;
  const VkDeviceSize offset = address - it->first;
  // Whole 16-byte texels from the buffer's start (offset 0 needs no texel-offset alignment).
  const uint64_t texels = std::min<uint64_t>(e.size / 16, max_texel_elements_);
  if (offset / 4 >= 4 * texels) return std::nullopt;
  if (e.texel_view == VK_NULL_HANDLE) {
    VkBufferViewCreateInfo info{};
    info.sType = VK_STRUCTURE_TYPE_BUFFER_VIEW_CREATE_INFO;
    info.buffer = e.buffer;
    info.format = VK_FORMAT_R32G32B32A32_SFLOAT;  // uniform texel buffer support is required for it
    info.offset = 0;
    info.range = texels * 16;
    if (vkCreateBufferView(device_, &info, nullptr, &e.texel_view) != VK_SUCCESS) {
      e.texel_view = VK_NULL_HANDLE;
      return std::nullopt;
    }
  }
  return TexelSpan{e.texel_view, offset / 4, 4 * texels - offset / 4};
}

std::optional<TexelSpan> BufferDirectory::texel_window(VkDeviceAddress address, uint64_t elements) {
  const auto span = texel_view(address);
  if (!span || span->elements < elements || span->element + elements > UINT32_MAX) return std::nullopt;
  return span;
}

}  // namespace r1vk::vk
