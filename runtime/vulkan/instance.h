// VkInstance (RAII). Validation is on when requested or when R1VK_VALIDATION=1 is set; then the
// Khronos layer must exist (a missing layer is an error, not a silent downgrade) and a debug
// messenger counts its errors. R1VK_VALIDATION=sync adds the layer's synchronization validation
// (read/write hazards the barriers leave unordered are reported as errors).
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>
#include <memory>
#include <string>

#include "base/status.h"
#include "vulkan/debug_messenger.h"

namespace r1vk::vk {

struct InstanceOptions {
  bool validation = false;  // also turned on by R1VK_VALIDATION=1 in the environment
};

// True when the environment asks for validation (R1VK_VALIDATION set to anything but "0"/"").
bool validation_requested_by_env();
// True when R1VK_VALIDATION=sync: validation plus synchronization validation.
bool sync_validation_requested_by_env();

class Instance {
 public:
  static Result<std::unique_ptr<Instance>> create(const InstanceOptions& options);
  // Wraps a host's instance without owning it (never destroyed here, no debug messenger).
  static std::unique_ptr<Instance> adopt(VkInstance instance, uint32_t api_version);

  Instance(const Instance&) = delete;
  Instance& operator=(const Instance&) = delete;
  ~Instance();

  VkInstance handle() const { return instance_; }
  uint32_t api_version() const { return api_version_; }
  bool validation_enabled() const { return validation_; }
  uint64_t validation_error_count() const { return counter_.errors.load(); }
  std::string last_validation_error();

 private:
  Instance() = default;
  VkInstance instance_ = VK_NULL_HANDLE;
  uint32_t api_version_ = 0;
  bool validation_ = false;
  bool owned_ = true;
  ValidationCounter counter_;   // before messenger_: must outlive it
  DebugMessenger messenger_;
};

}  // namespace r1vk::vk
