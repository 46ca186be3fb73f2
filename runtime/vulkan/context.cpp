#include "vulkan/context.h"

#include <cstdio>

#include <vector>

#include "vulkan/enabled_features.h"
#include "vulkan/fault_injection.h"
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
  R1VK_TRY(ctx->finish_create());
  return ctx;
}

Result<std::unique_ptr<Context>> Context::adopt(const HostDevice& host, const ContextOptions& options) {
  if (!host.instance || !host.physical || !host.device || !host.queue || !host.create_info)
    return make_error(ErrorCode::kInvalidArgument, "adopting a host device needs its VkInstance, VkPhysicalDevice, VkDevice, "
                                                   "VkQueue and the VkDeviceCreateInfo it was created with");
  if (host.create_info->sType != VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO)
    return make_error(ErrorCode::kInvalidArgument, "the host's device create info is not a VkDeviceCreateInfo (wrong sType)");
  if (host.instance_api_version < VK_API_VERSION_1_2)
    return make_error(ErrorCode::kUnsupported, "the host's instance was created for Vulkan " + version_string(host.instance_api_version) +
                                                   "; r1vk needs an instance apiVersion of 1.2 or newer");
  std::unique_ptr<Context> ctx(new Context());
  ctx->options_ = options;
  ctx->instance_ = Instance::adopt(host.instance, host.instance_api_version);
  R1VK_ASSIGN_OR_RETURN(auto devices, enumerate_physical_devices(host.instance, host.instance_api_version));
  size_t index = devices.size();
  for (size_t i = 0; i < devices.size(); ++i)
    if (devices[i].handle == host.physical) index = i;
  if (index == devices.size())
    return make_error(ErrorCode::kInvalidArgument, "the host's VkPhysicalDevice does not belong to its VkInstance");
  ctx->device_index_ = index;

  uint32_t family_count = 0;
  vkGetPhysicalDeviceQueueFamilyProperties(host.physical, &family_count, nullptr);
  std::vector<VkQueueFamilyProperties> families(family_count);
  vkGetPhysicalDeviceQueueFamilyProperties(host.physical, &family_count, families.data());
  if (host.queue_family >= family_count)
    return make_error(ErrorCode::kInvalidArgument, "queue family " + std::to_string(host.queue_family) + " does not exist (the device has " +
                                                       std::to_string(family_count) + ")");
  if (!(families[host.queue_family].queueFlags & VK_QUEUE_COMPUTE_BIT))
    return make_error(ErrorCode::kUnsupported, "queue family " + std::to_string(host.queue_family) + " cannot run compute work");

  DeviceCaps caps = enabled_caps(devices[index].caps, *host.create_info);
  caps.compute_queue_family = host.queue_family;
  caps.timestamp_valid_bits = families[host.queue_family].timestampValidBits;
  PFN_vkGetDeviceProcAddr gdpa = nullptr;
  if (host.get_instance_proc_addr) {
    gdpa = reinterpret_cast<PFN_vkGetDeviceProcAddr>(host.get_instance_proc_addr(host.instance, "vkGetDeviceProcAddr"));
    if (!gdpa) return make_error(ErrorCode::kInvalidArgument, "the host's vkGetInstanceProcAddr does not return vkGetDeviceProcAddr");
  }
  R1VK_ASSIGN_OR_RETURN(ctx->device_, Device::adopt(host.physical, host.device, host.queue, caps, gdpa));
  ctx->lock_queue_ = host.lock_queue;
  ctx->unlock_queue_ = host.unlock_queue;
  R1VK_TRY(ctx->finish_create());
  return ctx;
}

Status Context::finish_create() {
  set_submit_timeout_ns(options_.submit_timeout_ns);
  R1VK_ASSIGN_OR_RETURN(allocator_, Allocator::create(*device_, options_.allocator));
  std::filesystem::path cache_path;
  if (options_.disk_pipeline_cache)
    cache_path = options_.pipeline_cache_path.empty() ? default_pipeline_cache_path(caps()) : options_.pipeline_cache_path;
  R1VK_ASSIGN_OR_RETURN(cache_, PipelineCache::open(*device_, cache_path));
  R1VK_ASSIGN_OR_RETURN(timeline_, TimelineSemaphore::create(device_->handle()));
  R1VK_ASSIGN_OR_RETURN(transfer_timeline_, TimelineSemaphore::create(device_->handle()));
  R1VK_ASSIGN_OR_RETURN(fence_, Fence::create(device_->handle()));
  return ok_status();
}

Context::~Context() {
  if (!device_) return;
  // An adopted device is the host's: wait only for r1vk's own submits, not the whole device.
  if (device_->owned())
    (void)device_->wait_idle();
  else if (timeline_.handle() != VK_NULL_HANDLE) {
    (void)timeline_.wait(next_value_, options_.submit_timeout_ns);
    if (transfer_timeline_.handle() != VK_NULL_HANDLE) (void)transfer_timeline_.wait(next_transfer_value_, options_.submit_timeout_ns);
  }
  // Keep the pipelines this process compiled for the next one (best effort: a cache that cannot
  // be written only costs the next start its compiles).
  if (Status saved = cache_.save(); !saved.ok()) {
    std::fprintf(stderr, "r1vk: warning: pipeline cache not saved: %s\n", saved.error().message().c_str());
  }
}

Result<Buffer> Context::create_buffer(VkDeviceSize size, MemoryUsage usage, std::string name, bool transfer_shared) {
  return Buffer::create(*device_, *allocator_, size, usage, std::move(name), transfer_shared);
}

namespace {

// One vkQueueSubmit of `cmd` that signals `signal` = `signal_value` and, with `wait_value` > 0,
// first waits (on the device) for `wait` to reach it at `wait_stage`.
VkResult queue_submit(VkQueue queue, const CommandBuffer& cmd, VkFence fence, VkSemaphore signal, uint64_t signal_value,
                      VkSemaphore wait, uint64_t wait_value, VkPipelineStageFlags wait_stage) {
  VkTimelineSemaphoreSubmitInfo timeline{};
  timeline.sType = VK_STRUCTURE_TYPE_TIMELINE_SEMAPHORE_SUBMIT_INFO;
  timeline.signalSemaphoreValueCount = 1;
  timeline.pSignalSemaphoreValues = &signal_value;
  const VkCommandBuffer handle = cmd.handle();
  VkSubmitInfo info{};
  info.sType = VK_STRUCTURE_TYPE_SUBMIT_INFO;
  info.pNext = &timeline;
  info.commandBufferCount = 1;
  info.pCommandBuffers = &handle;
  info.signalSemaphoreCount = 1;
  info.pSignalSemaphores = &signal;
  if (wait_value > 0) {
    timeline.waitSemaphoreValueCount = 1;
    timeline.pWaitSemaphoreValues = &wait_value;
    info.waitSemaphoreCount = 1;
    info.pWaitSemaphores = &wait;
    info.pWaitDstStageMask = &wait_stage;
  }
  VkResult r = fault::check(fault::Site::kSubmit);
  if (r == VK_SUCCESS) r = vkQueueSubmit(queue, 1, &info, fence);
  return r;
}

}  // namespace

Result<uint64_t> Context::submit_with_fence(const CommandBuffer& cmd, VkFence fence, uint64_t wait_transfer) {
  if (wait_transfer > next_transfer_value_)
    return make_error(ErrorCode::kInternal, "a submit waits for transfer value " + std::to_string(wait_transfer) +
                                                " that was never submitted");
  const uint64_t value = next_value_ + 1;
  if (lock_queue_) lock_queue_();
  const VkResult r = queue_submit(device_->compute_queue(), cmd, fence, timeline_.handle(), value, transfer_timeline_.handle(),
                                  wait_transfer, VK_PIPELINE_STAGE_ALL_COMMANDS_BIT);
  if (unlock_queue_) unlock_queue_();
  if (r != VK_SUCCESS) return note_loss(vk_error(r, "vkQueueSubmit"), r).error();  // the call's name, not the variable's
  next_value_ = value;  // only a submitted value may be waited for
  return value;
}

Result<uint64_t> Context::submit(const CommandBuffer& cmd, uint64_t wait_transfer) {
  return submit_with_fence(cmd, VK_NULL_HANDLE, wait_transfer);
}

Result<uint64_t> Context::submit_transfer(const CommandBuffer& cmd, uint64_t wait_compute) {
  if (wait_compute > next_value_)
    return make_error(ErrorCode::kInternal, "a transfer waits for compute value " + std::to_string(wait_compute) +
                                                " that was never submitted");
  const uint64_t value = next_transfer_value_ + 1;
  // The host's lock guards its one queue, which is ours only when there is no separate one.
  const bool shared_queue = !device_->separate_transfer_queue();
  if (shared_queue && lock_queue_) lock_queue_();
  const VkResult r = queue_submit(device_->transfer_queue(), cmd, VK_NULL_HANDLE, transfer_timeline_.handle(), value,
                                  timeline_.handle(), wait_compute, VK_PIPELINE_STAGE_TRANSFER_BIT);
  if (shared_queue && unlock_queue_) unlock_queue_();
  if (r != VK_SUCCESS) return note_loss(vk_error(r, "vkQueueSubmit (transfer queue)"), r).error();
  next_transfer_value_ = value;
  return value;
}

Result<bool> Context::is_transfer_complete(uint64_t transfer_value) const {
  VkResult r = VK_SUCCESS;
  auto done = transfer_timeline_.value(&r);
  if (!done.ok()) return note_loss(std::move(done).error(), r).error();
  return *done >= transfer_value;
}

Status Context::wait_transfer(uint64_t transfer_value) const {
  VkResult r = VK_SUCCESS;
  Status st = transfer_timeline_.wait(transfer_value, options_.submit_timeout_ns, &r);
  return note_loss(std::move(st), r);
}

std::string Context::transfer_queue_description() const {
  if (device_->separate_transfer_queue())
    return "a separate transfer queue (family " + std::to_string(device_->transfer_queue_family()) + ", compute family " +
           std::to_string(device_->queue_family()) + ")";
  return "the compute queue (family " + std::to_string(device_->queue_family()) +
         ": no second queue family), in submissions of their own";
}

Status Context::note_loss(Status status, VkResult result) const {
  if (!status.ok() && result == VK_ERROR_DEVICE_LOST) {
    std::lock_guard lock(lost_mutex_);
    if (lost_.empty()) lost_ = status.error().message();
  }
  return status;
}

std::string Context::lost() const {
  std::lock_guard lock(lost_mutex_);
  return lost_;
}

Result<bool> Context::is_complete(uint64_t timeline_value) const {
  VkResult r = VK_SUCCESS;
  auto done = timeline_.value(&r);
  if (!done.ok()) return note_loss(std::move(done).error(), r).error();
  return *done >= timeline_value;
}

Status Context::wait(uint64_t timeline_value) const {
  VkResult r = VK_SUCCESS;
  Status st = timeline_.wait(timeline_value, options_.submit_timeout_ns, &r);
  return note_loss(std::move(st), r);
}

Status Context::wait_unbounded(uint64_t timeline_value) const {
  VkResult r = VK_SUCCESS;
  Status st = timeline_.wait(timeline_value, UINT64_MAX, &r);
  return note_loss(std::move(st), r);
}

Status Context::submit_and_wait(const CommandBuffer& cmd) {
  R1VK_TRY(fence_.reset());
  R1VK_ASSIGN_OR_RETURN(const uint64_t value, submit_with_fence(cmd, fence_.handle()));
  VkResult r = VK_SUCCESS;
  Status waited = note_loss(fence_.wait(options_.submit_timeout_ns, &r), r);
  // The caller frees `cmd` and the buffers it uses when this returns: after a timeout, wait for
  // the work to end first (a lost device returns at once), then report that it took too long.
  if (!waited.ok()) (void)wait_unbounded(value);
  return waited;
}

}  // namespace r1vk::vk
