#include "vulkan/buffer_directory.h"

namespace r1vk::vk {

void BufferDirectory::add(VkDeviceAddress address, VkDeviceSize size, VkBuffer buffer) {
  std::lock_guard<std::mutex> lock(mutex_);
  by_start_[address] = Entry{size, buffer};
}

void BufferDirectory::remove(VkDeviceAddress address) {
  std::lock_guard<std::mutex> lock(mutex_);
  by_start_.erase(address);
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

}  // namespace r1vk::vk
