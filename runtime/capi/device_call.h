// The context's lock for a C API call that uses the device, and the rule that a lost device stays
// lost (as Vulkan's VK_ERROR_DEVICE_LOST means: the device and everything on it are gone).
// Once a call failed with VK_ERROR_DEVICE_LOST, every later call that would use the device
// (model loads, session creation, feeding, generating, stepping, resetting) fails at once with
// R1VK_ERROR_VULKAN and a message naming the loss, instead of running into the lost device again
// or into state the failed call left half-done. Destroying the handles still works.
#pragma once

#include <mutex>

#include "capi/errors.h"
#include "capi/handles.h"

namespace r1vk::capi {

class DeviceCall {
 public:
  // Takes the context's lock (blocking, or only if free with std::try_to_lock).
  explicit DeviceCall(ContextState& context) : context_(context), lock_(context.mutex) {}
  DeviceCall(ContextState& context, std::try_to_lock_t) : context_(context), lock_(context.mutex, std::try_to_lock) {}
  DeviceCall(const DeviceCall&) = delete;
  DeviceCall& operator=(const DeviceCall&) = delete;

  bool owns_lock() const { return lock_.owns_lock(); }
  // R1VK_OK, or R1VK_ERROR_VULKAN (with its message) when an earlier call lost the device
  // (vk::Context::lost(): the context records VK_ERROR_DEVICE_LOST from its submits and waits).
  r1vk_status refuse_if_lost() const;

 private:
  ContextState& context_;
  std::unique_lock<std::mutex> lock_;
};

}  // namespace r1vk::capi
