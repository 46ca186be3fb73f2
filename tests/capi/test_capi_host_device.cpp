// Adopting a host's Vulkan device: the test plays the host, creating instance and device with raw
// Vulkan calls, hands them to r1vk, and checks that r1vk runs on them, submits under the host's
// queue lock, leaves them alive, and refuses a device missing a required feature by name.
#include <vulkan/vulkan.h>

#include <atomic>
#include <cstdlib>
#include <cstring>
#include <string>
#include <vector>

#include "capi/capi_fixture.h"

using namespace capi_test;

namespace {

bool validation_requested() {
  const char* v = std::getenv("R1VK_VALIDATION");
  return v && *v && std::strcmp(v, "0") != 0;
}

VKAPI_ATTR VkBool32 VKAPI_CALL count_errors(VkDebugUtilsMessageSeverityFlagBitsEXT severity, VkDebugUtilsMessageTypeFlagsEXT,
                                            const VkDebugUtilsMessengerCallbackDataEXT* data, void* user) {
  if (severity & VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT) {
    ++*static_cast<std::atomic<int>*>(user);
    MESSAGE("validation: ", data->pMessage);
  }
  return VK_FALSE;
}

// The host application: its own instance (with the validation layer and an error counter when
// R1VK_VALIDATION is set) and the first physical device.
struct Host {
  VkInstance instance = VK_NULL_HANDLE;
  VkDebugUtilsMessengerEXT messenger = VK_NULL_HANDLE;
  VkPhysicalDevice physical = VK_NULL_HANDLE;
  VkDevice device = VK_NULL_HANDLE;
  VkQueue queue = VK_NULL_HANDLE;
  uint32_t family = 0;
  std::atomic<int> validation_errors{0};
  static constexpr uint32_t kApi = VK_API_VERSION_1_3;

  Host() {
    VkApplicationInfo app{};
    app.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO;
    app.pApplicationName = "r1vk capi test host";
    app.apiVersion = kApi;
    VkInstanceCreateInfo info{};
    info.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO;
    info.pApplicationInfo = &app;
    const char* layer = "VK_LAYER_KHRONOS_validation";
    const char* ext = VK_EXT_DEBUG_UTILS_EXTENSION_NAME;
    VkDebugUtilsMessengerCreateInfoEXT dm{};
    dm.sType = VK_STRUCTURE_TYPE_DEBUG_UTILS_MESSENGER_CREATE_INFO_EXT;
    dm.messageSeverity = VK_DEBUG_UTILS_MESSAGE_SEVERITY_ERROR_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_SEVERITY_WARNING_BIT_EXT;
    dm.messageType = VK_DEBUG_UTILS_MESSAGE_TYPE_VALIDATION_BIT_EXT | VK_DEBUG_UTILS_MESSAGE_TYPE_GENERAL_BIT_EXT;
    dm.pfnUserCallback = count_errors;
    dm.pUserData = &validation_errors;
    if (validation_requested()) {
      info.enabledLayerCount = 1;
      info.ppEnabledLayerNames = &layer;
      info.enabledExtensionCount = 1;
      info.ppEnabledExtensionNames = &ext;
    }
    REQUIRE(vkCreateInstance(&info, nullptr, &instance) == VK_SUCCESS);
    if (validation_requested()) {
      auto create = reinterpret_cast<PFN_vkCreateDebugUtilsMessengerEXT>(vkGetInstanceProcAddr(instance, "vkCreateDebugUtilsMessengerEXT"));
      const bool found = create != nullptr;
      REQUIRE(found);
      REQUIRE(create(instance, &dm, nullptr, &messenger) == VK_SUCCESS);
    }
    uint32_t n = 1;
    const VkResult r = vkEnumeratePhysicalDevices(instance, &n, &physical);
    REQUIRE((r == VK_SUCCESS || r == VK_INCOMPLETE));
    REQUIRE(n >= 1);
    uint32_t families = 0;
    vkGetPhysicalDeviceQueueFamilyProperties(physical, &families, nullptr);
    std::vector<VkQueueFamilyProperties> props(families);
    vkGetPhysicalDeviceQueueFamilyProperties(physical, &families, props.data());
    for (family = 0; family < families && !(props[family].queueFlags & VK_QUEUE_COMPUTE_BIT); ++family) {
    }
    REQUIRE(family < families);
  }

  // Creates the device with every feature the physical device supports (as r1vk would) or, with
  // `without_bda`, with bufferDeviceAddress left off.
  VkResult create_device(bool without_bda, VkDeviceCreateInfo& info_out) {
    f11 = {};
    f11.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_1_FEATURES;
    f12 = {};
    f12.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_2_FEATURES;
    f13 = {};
    f13.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_VULKAN_1_3_FEATURES;
    features = {};
    features.sType = VK_STRUCTURE_TYPE_PHYSICAL_DEVICE_FEATURES_2;
    features.pNext = &f11;
    f11.pNext = &f12;
    VkPhysicalDeviceProperties props;
    vkGetPhysicalDeviceProperties(physical, &props);
    if (props.apiVersion >= VK_API_VERSION_1_3) f12.pNext = &f13;
    vkGetPhysicalDeviceFeatures2(physical, &features);
    if (without_bda) f12.bufferDeviceAddress = VK_FALSE;
    extensions.clear();
    uint32_t count = 0;
    vkEnumerateDeviceExtensionProperties(physical, nullptr, &count, nullptr);
    std::vector<VkExtensionProperties> exts(count);
    vkEnumerateDeviceExtensionProperties(physical, nullptr, &count, exts.data());
    for (const auto& e : exts)
      for (const char* want : {VK_KHR_PUSH_DESCRIPTOR_EXTENSION_NAME, VK_EXT_MEMORY_BUDGET_EXTENSION_NAME})
        if (std::strcmp(e.extensionName, want) == 0) extensions.push_back(want);
    queue_info = {};
    queue_info.sType = VK_STRUCTURE_TYPE_DEVICE_QUEUE_CREATE_INFO;
    queue_info.queueFamilyIndex = family;
    queue_info.queueCount = 1;
    queue_info.pQueuePriorities = &priority;
    VkDeviceCreateInfo info{};
    info.sType = VK_STRUCTURE_TYPE_DEVICE_CREATE_INFO;
    info.pNext = &features;
    info.queueCreateInfoCount = 1;
    info.pQueueCreateInfos = &queue_info;
    info.enabledExtensionCount = static_cast<uint32_t>(extensions.size());
    info.ppEnabledExtensionNames = extensions.data();
    const VkResult r = vkCreateDevice(physical, &info, nullptr, &device);
    if (r == VK_SUCCESS) vkGetDeviceQueue(device, family, 0, &queue);
    info_out = info;
    return r;
  }

  r1vk_host_device describe(const VkDeviceCreateInfo& info) const {
    r1vk_host_device h;
    r1vk_host_device_init(&h);
    h.instance = instance;
    h.instance_api_version = kApi;
    h.physical_device = physical;
    h.device = device;
    h.queue_family_index = family;
    h.queue = queue;
    h.device_create_info = &info;
    h.get_instance_proc_addr = reinterpret_cast<void*>(&vkGetInstanceProcAddr);
    return h;
  }

  ~Host() {
    // Still valid here: r1vk must not have destroyed them (the validation layer would report a
    // double destroy, and a freed device would crash).
    if (device) {
      CHECK(vkDeviceWaitIdle(device) == VK_SUCCESS);
      vkDestroyDevice(device, nullptr);
    }
    if (messenger) {
      auto destroy = reinterpret_cast<PFN_vkDestroyDebugUtilsMessengerEXT>(vkGetInstanceProcAddr(instance, "vkDestroyDebugUtilsMessengerEXT"));
      destroy(instance, messenger, nullptr);
    }
    vkDestroyInstance(instance, nullptr);
  }

  VkPhysicalDeviceFeatures2 features{};
  VkPhysicalDeviceVulkan11Features f11{};
  VkPhysicalDeviceVulkan12Features f12{};
  VkPhysicalDeviceVulkan13Features f13{};
  std::vector<const char*> extensions;
  VkDeviceQueueCreateInfo queue_info{};
  float priority = 1.0f;
};

struct QueueLock {
  std::atomic<int> locks{0}, unlocks{0};
  std::atomic<bool> held{false};
  std::atomic<bool> nested{false};
};

void lock(void* user) {
  auto* q = static_cast<QueueLock*>(user);
  if (q->held.exchange(true)) q->nested = true;
  ++q->locks;
}

void unlock(void* user) {
  auto* q = static_cast<QueueLock*>(user);
  q->held = false;
  ++q->unlocks;
}

std::vector<int32_t> greedy_tokens(r1vk_context* ctx) {
  r1vk_model* model = nullptr;
  CAPI_OK(r1vk_model_load(ctx, plan_path().c_str(), nullptr, &model));
  r1vk_session* s = nullptr;
  CAPI_OK(r1vk_session_create(model, &s));
  set_greedy(s);
  Collected c;
  CHECK(ask(s, c) == R1VK_FINISH_EOS);
  CHECK(c.answer.find("-61238") != std::string::npos);
  r1vk_session_destroy(s);
  r1vk_model_destroy(model);
  return c.tokens;
}

}  // namespace

TEST_CASE("r1vk runs on a device the host created and leaves it to the host") {
  std::vector<int32_t> own;
  {
    r1vk_context* ctx = nullptr;
    CAPI_OK(r1vk_context_create(nullptr, &ctx));
    own = greedy_tokens(ctx);
    r1vk_context_destroy(ctx);
  }
  Host host;
  VkDeviceCreateInfo info{};
  REQUIRE(host.create_device(false, info) == VK_SUCCESS);
  r1vk_host_device h = host.describe(info);
  QueueLock ql;
  h.lock_queue = lock;
  h.unlock_queue = unlock;
  h.queue_lock_user_data = &ql;
  r1vk_context* ctx = nullptr;
  CAPI_OK(r1vk_context_create_adopted(&h, nullptr, &ctx));
  CHECK(std::string(r1vk_context_device_name(ctx)).size() > 0);
  const std::vector<int32_t> adopted = greedy_tokens(ctx);
  r1vk_context_destroy(ctx);
  CHECK(adopted == own);  // same device, same features: the same kernels and tokens
  CHECK(ql.locks > 0);
  CHECK(ql.locks == ql.unlocks);
  CHECK_FALSE(ql.nested);
  // The host's device still works after r1vk is gone.
  CHECK(vkQueueWaitIdle(host.queue) == VK_SUCCESS);
  CHECK(host.validation_errors == 0);
}

TEST_CASE("an adopted device without bufferDeviceAddress is refused by name") {
  Host host;
  VkDeviceCreateInfo info{};
  REQUIRE(host.create_device(true, info) == VK_SUCCESS);
  r1vk_host_device h = host.describe(info);
  r1vk_context* ctx = nullptr;
  CHECK(r1vk_context_create_adopted(&h, nullptr, &ctx) == R1VK_ERROR_UNSUPPORTED);
  CHECK(ctx == nullptr);
  const std::string msg = r1vk_last_error();
  CHECK(msg.find("bufferDeviceAddress") != std::string::npos);
  CHECK(msg.find("timelineSemaphore") == std::string::npos);  // only what is missing
  CHECK(host.validation_errors == 0);
}

TEST_CASE("bad host descriptions are refused") {
  Host host;
  VkDeviceCreateInfo info{};
  REQUIRE(host.create_device(false, info) == VK_SUCCESS);
  r1vk_context* ctx = nullptr;

  r1vk_host_device h = host.describe(info);
  h.device_create_info = nullptr;
  CHECK(r1vk_context_create_adopted(&h, nullptr, &ctx) == R1VK_ERROR_INVALID_ARGUMENT);
  CHECK(std::string(r1vk_last_error()).find("VkDeviceCreateInfo") != std::string::npos);

  h = host.describe(info);
  h.queue_family_index = 1000;
  CHECK(r1vk_context_create_adopted(&h, nullptr, &ctx) == R1VK_ERROR_INVALID_ARGUMENT);
  CHECK(std::string(r1vk_last_error()).find("queue family 1000") != std::string::npos);

  h = host.describe(info);
  h.instance_api_version = VK_API_VERSION_1_1;
  CHECK(r1vk_context_create_adopted(&h, nullptr, &ctx) == R1VK_ERROR_UNSUPPORTED);

  h = host.describe(info);
  h.lock_queue = lock;  // without unlock_queue
  CHECK(r1vk_context_create_adopted(&h, nullptr, &ctx) == R1VK_ERROR_INVALID_ARGUMENT);

  h = host.describe(info);
  h.struct_size = 4;
  CHECK(r1vk_context_create_adopted(&h, nullptr, &ctx) == R1VK_ERROR_INVALID_ARGUMENT);
  CHECK(ctx == nullptr);
}
