#include "vulkan/buffer.h"

#include <utility>

#include "vulkan/vk_check.h"

namespace r1vk::vk {

Result<Buffer> Buffer::create(const Device& device, Allocator& allocator, VkDeviceSize size, MemoryUsage usage,
                              std::string name, bool transfer_shared) {
  if (size == 0) return make_error(ErrorCode::kInvalidArgument, "buffer " + name + ": size is zero");
  const uint64_t max_buffer = device.caps().max_buffer_size;
  if (max_buffer && size > max_buffer)
    return make_error(ErrorCode::kOutOfRange, "buffer " + name + ": " + std::to_string(size) +
                                                  " bytes exceed the device's maxBufferSize of " + std::to_string(max_buffer));
  Buffer b;
  b.device_ = device.handle();
  b.allocator_ = &allocator;
  b.size_ = size;
  b.name_ = std::move(name);

  VkBufferCreateInfo info{};
  info.sType = VK_STRUCTURE_TYPE_BUFFER_CREATE_INFO;
  info.size = size;
  // Uniform texel: the descriptor-bound matrix kernels read x through a texel view on CPU drivers
  // (BufferDirectory::texel_view).
  info.usage = VK_BUFFER_USAGE_STORAGE_BUFFER_BIT | VK_BUFFER_USAGE_TRANSFER_SRC_BIT | VK_BUFFER_USAGE_TRANSFER_DST_BIT |
               VK_BUFFER_USAGE_SHADER_DEVICE_ADDRESS_BIT | VK_BUFFER_USAGE_UNIFORM_TEXEL_BUFFER_BIT;
  info.sharingMode = VK_SHARING_MODE_EXCLUSIVE;
  const uint32_t families[2] = {device.queue_family(), device.transfer_queue_family()};
  if (transfer_shared && device.separate_transfer_queue()) {
    info.sharingMode = VK_SHARING_MODE_CONCURRENT;
    info.queueFamilyIndexCount = 2;
    info.pQueueFamilyIndices = families;
  }
  const VkResult r = vkCreateBuffer(b.device_, &info, nullptr, &b.buffer_);
  if (r != VK_SUCCESS) return vk_error(r, "vkCreateBuffer").with_context("buffer " + b.name_);

  VkMemoryRequirements req{};
  vkGetBufferMemoryRequirements(b.device_, b.buffer_, &req);
  auto alloc = allocator.allocate(req, usage, "buffer " + b.name_);
  if (!alloc.ok()) return std::move(alloc).error();
  b.allocation_ = *alloc;
  const VkResult br = vkBindBufferMemory(b.device_, b.buffer_, b.allocation_.memory, b.allocation_.offset);
  if (br != VK_SUCCESS) return vk_error(br, "vkBindBufferMemory").with_context("buffer " + b.name_);

  VkBufferDeviceAddressInfo addr{};
  addr.sType = VK_STRUCTURE_TYPE_BUFFER_DEVICE_ADDRESS_INFO;
  addr.buffer = b.buffer_;
  b.address_ = vkGetBufferDeviceAddress(b.device_, &addr);
  if (b.address_ == 0) return make_error(ErrorCode::kVulkan, "vkGetBufferDeviceAddress returned 0 for buffer " + b.name_);
  allocator.directory().add(b.address_, b.size_, b.buffer_);
  return b;
}

Buffer::Buffer(Buffer&& o) noexcept
    : device_(std::exchange(o.device_, VK_NULL_HANDLE)),
      allocator_(std::exchange(o.allocator_, nullptr)),
      buffer_(std::exchange(o.buffer_, VK_NULL_HANDLE)),
      allocation_(std::exchange(o.allocation_, Allocation{})),
      address_(std::exchange(o.address_, 0)),
      size_(std::exchange(o.size_, 0)),
      name_(std::move(o.name_)) {}

Buffer& Buffer::operator=(Buffer&& o) noexcept {
  if (this != &o) {
    reset();
    device_ = std::exchange(o.device_, VK_NULL_HANDLE);
    allocator_ = std::exchange(o.allocator_, nullptr);
    buffer_ = std::exchange(o.buffer_, VK_NULL_HANDLE);
    allocation_ = std::exchange(o.allocation_, Allocation{});
    address_ = std::exchange(o.address_, 0);
    size_ = std::exchange(o.size_, 0);
    name_ = std::move(o.name_);
  }
  return *this;
}

Buffer::~Buffer() { reset(); }

void Buffer::reset() {
  if (allocator_ && address_ != 0) allocator_->directory().remove(address_);
  address_ = 0;
  if (buffer_ != VK_NULL_HANDLE) vkDestroyBuffer(device_, buffer_, nullptr);
  if (allocator_ && allocation_.block) allocator_->free(allocation_);
  buffer_ = VK_NULL_HANDLE;
  allocation_ = Allocation{};
}

std::span<std::byte> Buffer::mapped() const {
  if (!allocation_.mapped) return {};
  return {allocation_.mapped, static_cast<size_t>(size_)};
}

}  // namespace r1vk::vk
