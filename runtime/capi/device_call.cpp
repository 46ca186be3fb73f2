#include "capi/device_call.h"

#include <string>

namespace r1vk::capi {

r1vk_status DeviceCall::refuse_if_lost() const {
  // vk::Context records VK_ERROR_DEVICE_LOST from its submits and waits (Context::lost()).
  const std::string lost = context_.context->lost();
  if (lost.empty()) return R1VK_OK;
  return fail(R1VK_ERROR_VULKAN, "the device was lost (" + lost +
                                     "): this context can run nothing more; destroy its sessions, models and the context, "
                                     "and create a new context");
}

}  // namespace r1vk::capi
