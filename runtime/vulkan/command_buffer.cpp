#include "vulkan/command_buffer.h"

#include <utility>
#include <vector>

#include "vulkan/compute_pipeline.h"
#include "vulkan/query_pool.h"
#include "vulkan/vk_check.h"

namespace r1vk::vk {

Result<CommandBuffer> CommandBuffer::create(const Device& device) { return create(device, device.queue_family()); }

Result<CommandBuffer> CommandBuffer::create(const Device& device, uint32_t queue_family) {
  CommandBuffer cb;
  cb.device_ = device.handle();
  cb.push_descriptor_fn_ = device.push_descriptor_fn();
  VkCommandPoolCreateInfo pool_info{};
  pool_info.sType = VK_STRUCTURE_TYPE_COMMAND_POOL_CREATE_INFO;
  pool_info.flags = VK_COMMAND_POOL_CREATE_RESET_COMMAND_BUFFER_BIT;
  pool_info.queueFamilyIndex = queue_family;
  R1VK_VK_TRY(vkCreateCommandPool(cb.device_, &pool_info, nullptr, &cb.pool_));
  VkCommandBufferAllocateInfo alloc{};
  alloc.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_ALLOCATE_INFO;
  alloc.commandPool = cb.pool_;
  alloc.level = VK_COMMAND_BUFFER_LEVEL_PRIMARY;
  alloc.commandBufferCount = 1;
  R1VK_VK_TRY(vkAllocateCommandBuffers(cb.device_, &alloc, &cb.cmd_));
  return cb;
}

CommandBuffer::CommandBuffer(CommandBuffer&& o) noexcept
    : device_(std::exchange(o.device_, VK_NULL_HANDLE)),
      pool_(std::exchange(o.pool_, VK_NULL_HANDLE)),
      cmd_(std::exchange(o.cmd_, VK_NULL_HANDLE)),
      push_descriptor_fn_(o.push_descriptor_fn_) {}

CommandBuffer& CommandBuffer::operator=(CommandBuffer&& o) noexcept {
  if (this != &o) {
    if (pool_ != VK_NULL_HANDLE) vkDestroyCommandPool(device_, pool_, nullptr);
    device_ = std::exchange(o.device_, VK_NULL_HANDLE);
    pool_ = std::exchange(o.pool_, VK_NULL_HANDLE);
    cmd_ = std::exchange(o.cmd_, VK_NULL_HANDLE);
    push_descriptor_fn_ = o.push_descriptor_fn_;
  }
  return *this;
}

CommandBuffer::~CommandBuffer() {
  // Destroying the pool frees its command buffer.
  if (pool_ != VK_NULL_HANDLE) vkDestroyCommandPool(device_, pool_, nullptr);
}

Status CommandBuffer::begin(bool one_time) {
  VkCommandBufferBeginInfo info{};
  info.sType = VK_STRUCTURE_TYPE_COMMAND_BUFFER_BEGIN_INFO;
  info.flags = one_time ? VK_COMMAND_BUFFER_USAGE_ONE_TIME_SUBMIT_BIT : 0;
  R1VK_VK_TRY(vkBeginCommandBuffer(cmd_, &info));
  return ok_status();
}

Status CommandBuffer::end() {
  R1VK_VK_TRY(vkEndCommandBuffer(cmd_));
  return ok_status();
}

Status CommandBuffer::reset() {
  R1VK_VK_TRY(vkResetCommandBuffer(cmd_, 0));
  return ok_status();
}

void CommandBuffer::bind(const ComputePipeline& pipeline) {
  vkCmdBindPipeline(cmd_, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline.handle());
}

void CommandBuffer::push_constants(const ComputePipeline& pipeline, std::span<const std::byte> bytes) {
  vkCmdPushConstants(cmd_, pipeline.layout(), VK_SHADER_STAGE_COMPUTE_BIT, 0, static_cast<uint32_t>(bytes.size()),
                     bytes.data());
}

void CommandBuffer::push_storage_buffers(const ComputePipeline& pipeline, std::span<const BufferRange> ranges,
                                         std::span<const VkBufferView> texel_views) {
  std::vector<VkDescriptorBufferInfo> infos(ranges.size());
  std::vector<VkWriteDescriptorSet> writes(ranges.size() + texel_views.size());
  for (size_t i = 0; i < ranges.size(); ++i) {
    infos[i] = {ranges[i].buffer, ranges[i].offset, ranges[i].size};
    writes[i] = {};
    writes[i].sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET;
    writes[i].dstBinding = static_cast<uint32_t>(i);
    writes[i].descriptorCount = 1;
    writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    writes[i].pBufferInfo = &infos[i];
  }
  for (size_t j = 0; j < texel_views.size(); ++j) {
    VkWriteDescriptorSet& w = writes[ranges.size() + j];
    w = {};
    w.sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET;
    w.dstBinding = static_cast<uint32_t>(ranges.size() + j);
    w.descriptorCount = 1;
    w.descriptorType = VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER;
    w.pTexelBufferView = &texel_views[j];
  }
  push_descriptor_fn_(cmd_, VK_PIPELINE_BIND_POINT_COMPUTE, pipeline.layout(), 0, static_cast<uint32_t>(writes.size()),
                      writes.data());
}

void CommandBuffer::dispatch(uint32_t x, uint32_t y, uint32_t z) { vkCmdDispatch(cmd_, x, y, z); }

void CommandBuffer::compute_barrier() {
  VkMemoryBarrier barrier{};
  barrier.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
  barrier.srcAccessMask = VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_WRITE_BIT;
  barrier.dstAccessMask = VK_ACCESS_SHADER_READ_BIT | VK_ACCESS_SHADER_WRITE_BIT | VK_ACCESS_TRANSFER_READ_BIT |
                          VK_ACCESS_TRANSFER_WRITE_BIT;
  const VkPipelineStageFlags stages = VK_PIPELINE_STAGE_COMPUTE_SHADER_BIT | VK_PIPELINE_STAGE_TRANSFER_BIT;
  vkCmdPipelineBarrier(cmd_, stages, stages, 0, 1, &barrier, 0, nullptr, 0, nullptr);
}

void CommandBuffer::copy_buffer(VkBuffer src, VkDeviceSize src_offset, VkBuffer dst, VkDeviceSize dst_offset,
                                VkDeviceSize size) {
  VkBufferCopy region{src_offset, dst_offset, size};
  vkCmdCopyBuffer(cmd_, src, dst, 1, &region);
}

void CommandBuffer::reset_queries(const TimestampQueryPool& pool) {
  vkCmdResetQueryPool(cmd_, pool.handle(), 0, pool.count());
}

void CommandBuffer::write_timestamp(const TimestampQueryPool& pool, uint32_t index) {
  vkCmdWriteTimestamp(cmd_, VK_PIPELINE_STAGE_BOTTOM_OF_PIPE_BIT, pool.handle(), index);
}

}  // namespace r1vk::vk
