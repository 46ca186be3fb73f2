#include "vulkan/debug_messenger.h"

#include <cstdio>
#include <utility>

#include "vulkan/vk_check.h"

namespace r1vk::vk {
namespace {

VKAPI_ATTR VkBool32 VKAPI_CALL on_message(VkDebugUtilsMessageSeverityFlagBitsEXT severity,
                                          VkDebugUtilsMessageTypeFlagsEXT /*types*/,
                                          const VkDebugUtilsMessengerCallbackDataEXT* data, void* user) {
  auto* counter = static_cast<ValidationCounter*>(user);
  const char* text = data && data->pMessage ? data->pMessage : "(no message)";
  if (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT) {
    counter->errors.fetch_add(1);
    std::lock_guard<std::mutex> lock(counter->mutex);
    counter->last_error = text;
    std::fprintf(stderr, "r1vk: validation error: %s\n", text);
  } else {
    counter->warnings.fetch_add(1);
    std::fprintf(stderr, "r1vk: validation warning: %s\n", text);
  }
  return VK_FALSE;  // never abort the call that triggered the message
}

}  // namespace

VkDebugUtilsMessengerCreateInfoEXT DebugMessenger::create_info(ValidationCounter* counter) {
  VkDebugUtilsMessengerCreateInfoEXT info{};
  info.sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT;
  info.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT;
  info.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT |
                     VK_DEBUG_UTILS_MESSAGE_TYPE_PERFORMANCE_BIT_EXT;
  info.pfnUserCallback = on_message;
  info.pUserData = counter;
  return info;
}

Result<DebugMessenger> DebugMessenger::create(VkInstance instance, ValidationCounter* counter) {
  auto create_fn = reinterpret_cast<PFN_vkCreateDebugUtilsMessengerEXT>(
      vkGetInstanceProcAddr(instance, "vkCreateDebugUtilsMessengerEXT"));
  if (!create_fn)
    return make_error(ErrorCode::kUnsupported, "vkCreateDebugUtilsMessengerEXT is not available (VK_EXT_debug_utils)");
  const VkDebugUtilsMessengerCreateInfoEXT info = create_info(counter);
  DebugMessenger m;
  R1VK_VK_TRY(create_fn(instance, &info, nullptr, &m.messenger_));
  m.instance_ = instance;
  return m;
}

DebugMessenger::DebugMessenger(DebugMessenger&& other) noexcept
    : instance_(std::exchange(other.instance_, VK_NULL_HANDLE)),
      messenger_(std::exchange(other.messenger_, VK_NULL_HANDLE)) {}

DebugMessenger& DebugMessenger::operator=(DebugMessenger&& other) noexcept {
  if (this != &other) {
    reset();
    instance_ = std::exchange(other.instance_, VK_NULL_HANDLE);
    messenger_ = std::exchange(other.messenger_, VK_NULL_HANDLE);
  }
  return *this;
}

DebugMessenger::~DebugMessenger() { reset(); }

void DebugMessenger::reset() {
  if (messenger_ == VK_NULL_HANDLE) return;
  auto destroy_fn = reinterpret_cast<PFN_vkDestroyDebugUtilsMessengerEXT>(
      vkGetInstanceProcAddr(instance_, "vkDestroyDebugUtilsMessengerEXT"));
  if (destroy_fn) destroy_fn(instance_, messenger_, nullptr);
  messenger_ = VK_NULL_HANDLE;
}

}  // namespace r1vk::vk
