// A primary VkCommandBuffer with its own VkCommandPool (RAII): the recording API kernels use
// (bind, push constants, dispatch, barriers, copies, timestamps). Re-recordable after reset().
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>
#include <span>

#include "base/status.h"
#include "vulkan/device.h"

namespace r1vk::vk {

class ComputePipeline;
class TimestampQueryPool;

// A slice of a buffer bound to one storage-buffer binding.
struct BufferRange {
  VkBuffer buffer = VK_NULL_HANDLE;
  VkDeviceSize offset = 0;
  VkDeviceSize size = 0;
};

class CommandBuffer {
 public:
  static Result<CommandBuffer> create(const Device& device);
  // For the queue of `queue_family` (a transfer pool: Device::transfer_queue_family()).
  static Result<CommandBuffer> create(const Device& device, uint32_t queue_family);

  CommandBuffer() = default;
  CommandBuffer(CommandBuffer&& other) noexcept;
  CommandBuffer& operator=(CommandBuffer&& other) noexcept;
  CommandBuffer(const CommandBuffer&) = delete;
  CommandBuffer& operator=(const CommandBuffer&) = delete;
  ~CommandBuffer();

  VkCommandBuffer handle() const { return cmd_; }

  Status begin(bool one_time = true);
  Status end();
  Status reset();

  void bind(const ComputePipeline& pipeline);
  // Push constants for the bound pipeline; `bytes` must fit the pipeline's declared range.
  void push_constants(const ComputePipeline& pipeline, std::span<const std::byte> bytes);
  // Binds ranges[i] to binding i of the bound descriptor-using pipeline (VK_KHR_push_descriptor),
  // then texel_views[j] to binding ranges.size() + j (uniform texel buffers).
  void push_storage_buffers(const ComputePipeline& pipeline, std::span<const BufferRange> ranges,
                            std::span<const VkBufferView> texel_views = {});
  void dispatch(uint32_t x, uint32_t y = 1, uint32_t z = 1);
  // Orders earlier shader/transfer writes before later shader/transfer reads and writes.
  void compute_barrier();
  void copy_buffer(VkBuffer src, VkDeviceSize src_offset, VkBuffer dst, VkDeviceSize dst_offset, VkDeviceSize size);
  void reset_queries(const TimestampQueryPool& pool);
  void write_timestamp(const TimestampQueryPool& pool, uint32_t index);

 private:
  VkDevice device_ = VK_NULL_HANDLE;
  VkCommandPool pool_ = VK_NULL_HANDLE;
  VkCommandBuffer cmd_ = VK_NULL_HANDLE;
  PFN_vkCmdPushDescriptorSetKHR push_descriptor_fn_ = nullptr;
};

}  // namespace r1vk::vk
