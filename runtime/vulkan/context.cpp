#include "vulkan/context.h"

#include "vulkan/physical_device.h"
#include "vulkan/vk_check.h"

namespace r1vk::vk {

Result<std::unique_ptr<Context>> Context::create(const ContextOptions& options) {
  std::unique_ptr<Context> ctx(new Context());
  ctx->options_ = options;
  R1VK_ASSIGN_OR_RETURN(ctx->instance_, Instance::create({options.validation}));
  const uint32_t api = ctx->instance_->api_version();
  R1VK_ASSIGN_OR_RETURN(auto devices, enumerate_physical_devices(ctx->instance_->handle(), api));
  R1VK_ASSIGN_OR_RETURN(ctx->device_index_, select_device_index(devices, options.device_index));
  R1VK_ASSIGN_OR_RETURN(ctx->device_, Device::create(devices[ctx->device_index_], api));
  R1VK_ASSIGN_OR_RETURN(ctx->allocator_, Allocator::create(*ctx->device_, options.allocator));
  std::filesystem::path cache_path;
  if (options.disk_pipeline_cache)
    cache_path = options.pipeline_cache_path.empty() ? default_pipeline_cache_path(ctx->caps()) : options.pipeline_cache_path;
  R1VK_ASSIGN_OR_RETURN(ctx->cache_, PipelineCache::open(*ctx->device_, cache_path));
  R1VK_ASSIGN_OR_RETURN(ctx->timeline_, TimelineSemaphore::create(ctx->device_->handle()));
  R1VK_ASSIGN_OR_RETURN(ctx->fence_, Fence::create(ctx->device_->handle()));
  return ctx;
}

Context::~Context() {
  if (device_) (void)device_->wait_idle();
}

Result<Buffer> Context::create_buffer(VkDeviceSize size, MemoryUsage usage, std::string name) {
  return Buffer::create(*device_, *allocator_, size, usage, std::move(name));
}

Result<uint64_t> Context::submit_with_fence(const CommandBuffer& cmd, VkFence fence) {
  const uint64_t value = ++next_value_;
  VkTimelineSemaphoreSubmitInfo timeline{};
  timeline.sType = VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO;
  timeline.signalSemaphoreValueCount = 1;
  timeline.pSignalSemaphoreValues = &value;
  const VkSemaphore sem = timeline_.handle();
  const VkCommandBuffer handle = cmd.handle();
  VkSubmitInfo info{};
  info.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
  info.pNext = &timeline;
  info.commandBufferCount = 1;
  info.pCommandBuffers = &handle;
  info.signalSemaphoreCount = 1;
  info.pSignalSemaphores = &sem;
  R1VK_VK_TRY(vkQueueSubmit(device_->compute_queue(), 1, &info, fence));
  return value;
}

Result<uint64_t> Context::submit(const CommandBuffer& cmd) { return submit_with_fence(cmd, VK_NULL_HANDLE); }

Result<bool> Context::is_complete(uint64_t timeline_value) const {
  R1VK_ASSIGN_OR_RETURN(uint64_t done, timeline_.value());
  return done >= timeline_value;
}

Status Context::wait(uint64_t timeline_value) const { return timeline_.wait(timeline_value, options_.submit_timeout_ns); }

Status Context::submit_and_wait(const CommandBuffer& cmd) {
  R1VK_TRY(fence_.reset());
  R1VK_TRY(submit_with_fence(cmd, fence_.handle()));
  return fence_.wait(options_.submit_timeout_ns);
}

}  // namespace r1vk::vk
