// The one place a VkResult becomes an error value: R1VK_VK_TRY(vkCall(...)) returns an Error
// (ErrorCode::kVulkan) whose message names the failing call and the VkResult, so a failure deep in
// device set-up reads "vkCreateDevice failed: VK_ERROR_FEATURE_NOT_PRESENT" instead of aborting.
#pragma once

#include <vulkan/vulkan.h>

#include "base/status.h"

namespace r1vk::vk {

const char* vk_result_name(VkResult result);

// `call_text` is the stringified call; only the function name before '(' goes into the message.
Error vk_error(VkResult result, const char* call_text);

// Status form for places that cannot use the macro (e.g. a lambda returning Status).
inline Status vk_check(VkResult result, const char* call_text) {
  if (result == VK_SUCCESS) return ok_status();
  return vk_error(result, call_text);
}

}  // namespace r1vk::vk

#define R1VK_VK_TRY(call)                                                   \
  do {                                                                      \
    const VkResult r1vk_vk_result_ = (call);                                \
    if (r1vk_vk_result_ != VK_SUCCESS)                                      \
      return ::r1vk::vk::vk_error(r1vk_vk_result_, #call);                  \
  } while (0)
