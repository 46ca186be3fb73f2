#include "capi/device_call.h"

#include <string>

namespace r1vk::capi {

r1vk_status DeviceCall::refuse_if_lost() const {
  if (context_.lost.empty()) return R1VK_OK;
  return fail(R1VK_ERROR_VULKAN, "the device was lost (" + context_.lost +
                                     "): this context can run nothing more; destroy its sessions, models and the context, "
                                     "and create a new context");
}

r1vk_status DeviceCall::finish(r1vk_status status) {
  // The Vulkan layer's errors name the VkResult (vk::vk_error), and fail() has just recorded the
  // message as this thread's last error.
  if (status == R1VK_ERROR_VULKAN && context_.lost.empty()) {
    const std::string message = r1vk_last_error();
    if (message.find("VK_ERROR_DEVICE_LOST") != std::string::npos) context_.lost = message;
  }
  return status;
}

}  // namespace r1vk::capi
