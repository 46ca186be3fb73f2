// Everything a caller needs to run kernels on one device, created in the right order and
// destroyed in reverse: instance -> chosen physical device -> logical device -> allocator ->
// pipeline cache, plus timeline semaphores (compute and transfer submits) and a fence.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>

#include "base/status.h"
#include "vulkan/allocator.h"
#include "vulkan/buffer.h"
#include "vulkan/command_buffer.h"
#include "vulkan/device.h"
#include "vulkan/fence.h"
#include "vulkan/instance.h"
#include "vulkan/pipeline_cache.h"
#include "vulkan/timeline_semaphore.h"

namespace r1vk::vk {

// GPUs reset a hung queue long before this (driver watchdogs fire after seconds).
inline constexpr uint64_t kGpuSubmitTimeoutNs = 120ull * 1000 * 1000 * 1000;
// A CPU implementation (lavapipe) cannot hang past its loop limiter, and one step's wall time
// grows with its rows and the host's load: a 512-row prefill step of the 4-layer v2-lite shape
// takes minutes on 2 shared cores, so 120 s turned long steps into errors (docs/runtime.md).
inline constexpr uint64_t kCpuSubmitTimeoutNs = 3600ull * 1000 * 1000 * 1000;

struct ContextOptions {
  bool validation = false;             // or R1VK_VALIDATION=1
  std::optional<int> device_index;     // --device N; default: best device
  bool disk_pipeline_cache = true;     // false: in-memory cache only
  std::filesystem::path pipeline_cache_path;  // empty: default_pipeline_cache_path()
  AllocatorOptions allocator;
  // How long a wait for submitted work may block before it returns a "timed out" error (a hung
  // kernel becomes an error; the work stays in flight and its owner waits for it before freeing
  // what it uses). 0: kGpuSubmitTimeoutNs on GPUs, kCpuSubmitTimeoutNs on CPU implementations.
  uint64_t submit_timeout_ns = 0;
};

// A device the host application created and keeps owning (how an engine embeds r1vk). r1vk
// never destroys these objects and never waits the device idle; it submits only on `queue`.
struct HostDevice {
  VkInstance instance = VK_NULL_HANDLE;
  uint32_t instance_api_version = 0;  // the apiVersion the host created the instance with
  VkPhysicalDevice physical = VK_NULL_HANDLE;
  VkDevice device = VK_NULL_HANDLE;
  uint32_t queue_family = 0;
  VkQueue queue = VK_NULL_HANDLE;
  // What the host passed to vkCreateDevice: r1vk reads the enabled features and extensions from
  // it (Vulkan offers no query for them). Only read during adopt().
  const VkDeviceCreateInfo* create_info = nullptr;
  // Optional: the host's loader entry; extension functions are resolved through it.
  PFN_vkGetInstanceProcAddr get_instance_proc_addr = nullptr;
  // Optional: called around every vkQueueSubmit, for hosts that submit to the queue from other
  // threads (Vulkan requires queue access to be externally synchronised).
  std::function<void()> lock_queue;
  std::function<void()> unlock_queue;
};

class Context {
 public:
  static Result<std::unique_ptr<Context>> create(const ContextOptions& options = {});
  // Non-owning mode on the host's device; options.validation and device_index do not apply.
  static Result<std::unique_ptr<Context>> adopt(const HostDevice& host, const ContextOptions& options = {});
  bool adopted() const { return !device_->owned(); }

  Context(const Context&) = delete;
  Context& operator=(const Context&) = delete;
  ~Context();

  const Instance& instance() const { return *instance_; }
  const Device& device() const { return *device_; }
  const DeviceCaps& caps() const { return device_->caps(); }
  Allocator& allocator() { return *allocator_; }
  const PipelineCache& pipeline_cache() const { return cache_; }
  size_t device_index() const { return device_index_; }

  // `transfer_shared`: also used by submit_transfer's copies (Buffer::create).
  Result<Buffer> create_buffer(VkDeviceSize size, MemoryUsage usage, std::string name, bool transfer_shared = false);
  Result<CommandBuffer> create_command_buffer() const { return CommandBuffer::create(*device_); }
  // For submit_transfer: from a pool of the transfer queue's family. Transfer commands only (a
  // transfer-only family runs no compute barriers); order with the semaphores of the submits.
  Result<CommandBuffer> create_transfer_command_buffer() const {
    return CommandBuffer::create(*device_, device_->transfer_queue_family());
  }

  // Submits a recorded command buffer; returns the timeline value that marks its completion.
  // With `wait_transfer` > 0 it starts only once the transfer timeline reached that value (the
  // device waits, VkTimelineSemaphoreSubmitInfo; the host does not).
  Result<uint64_t> submit(const CommandBuffer& cmd, uint64_t wait_transfer = 0);
  // Submits a transfer command buffer on the transfer queue (Device::transfer_queue: a separate
  // queue when the device has one, else the compute queue), to start once the compute timeline
  // reached `wait_compute` (0: at once), and returns at once with the value the transfer
  // timeline (a second semaphore) reaches when it finished. Never blocks on the device.
  Result<uint64_t> submit_transfer(const CommandBuffer& cmd, uint64_t wait_compute);
  Result<bool> is_transfer_complete(uint64_t transfer_value) const;
  Status wait_transfer(uint64_t transfer_value) const;
  // Which queue submit_transfer uses, in words (bench and log lines).
  std::string transfer_queue_description() const;
  // Blocks until the submit that returned `timeline_value` finished, at most submit_timeout_ns()
  // (then a "timed out" error: the work is still running).
  Status wait(uint64_t timeline_value) const;
  // The same without a time limit, for owners that must not free memory the work still uses (a
  // destructor after a timed-out wait). Returns early only when the device is lost.
  Status wait_unbounded(uint64_t timeline_value) const;
  uint64_t submit_timeout_ns() const { return options_.submit_timeout_ns; }
  // Tests: make waits time out while work runs (0: the device's default, as in ContextOptions).
  void set_submit_timeout_ns(uint64_t ns) {
    options_.submit_timeout_ns = ns != 0 ? ns : (caps().type == VK_PHYSICAL_DEVICE_TYPE_CPU ? kCpuSubmitTimeoutNs : kGpuSubmitTimeoutNs);
  }
  // Whether the submit that returned `timeline_value` has finished, without blocking.
  Result<bool> is_complete(uint64_t timeline_value) const;
  // Submit, then block until the device finished it (fence-guarded, with the submit timeout).
  Status submit_and_wait(const CommandBuffer& cmd);
  // Empty while the device works; once a submit, wait or completion query of this context got
  // VK_ERROR_DEVICE_LOST, that error's message. A lost device stays lost (Vulkan spec, "Lost
  // Device": the logical device and everything on it are unusable), so its owners run nothing
  // more on it. Other failures (out of memory, a wait that timed out) leave it empty.
  // Thread-safe (stages of a pipeline wait on their own threads).
  std::string lost() const;

  uint64_t validation_errors() const { return instance_->validation_error_count(); }
  Status save_pipeline_cache() const { return cache_.save(); }

 private:
  Context() = default;
  Status finish_create();
  Result<uint64_t> submit_with_fence(const CommandBuffer& cmd, VkFence fence, uint64_t wait_transfer = 0);
  // Returns `status`; when it failed with `result` VK_ERROR_DEVICE_LOST, records it as lost() first.
  Status note_loss(Status status, VkResult result) const;
  std::function<void()> lock_queue_;
  std::function<void()> unlock_queue_;
  ContextOptions options_;
  std::unique_ptr<Instance> instance_;
  std::unique_ptr<Device> device_;
  std::unique_ptr<Allocator> allocator_;
  PipelineCache cache_;
  TimelineSemaphore timeline_;
  TimelineSemaphore transfer_timeline_;  // signalled by submit_transfer
  Fence fence_;
  uint64_t next_value_ = 0;
  uint64_t next_transfer_value_ = 0;
  size_t device_index_ = 0;
  mutable std::mutex lost_mutex_;
  mutable std::string lost_;  // guarded by lost_mutex_; see lost()
};

}  // namespace r1vk::vk
