#include "vulkan/instance.h"

#include <cstdlib>
#include <cstring>
#include <vector>

#include "vulkan/vk_check.h"

namespace r1vk::vk {
namespace {

constexpr const char* kValidationLayer = "VK_LAYER_KHRONOS_validation";

Result<bool> layer_available(const char* name) {
  uint32_t count = 0;
  R1VK_VK_TRY(vkEnumerateInstanceLayerProperties(&count, nullptr));
  std::vector<VkLayerProperties> layers(count);
  R1VK_VK_TRY(vkEnumerateInstanceLayerProperties(&count, layers.data()));
  for (const auto& l : layers)
    if (std::strcmp(l.layerName, name) == 0) return true;
  return false;
}

// `layer`: an extension the layer provides; nullptr: the loader's and drivers'.
Result<bool> instance_extension_available(const char* name, const char* layer = nullptr) {
  uint32_t count = 0;
  R1VK_VK_TRY(vkEnumerateInstanceExtensionProperties(layer, &count, nullptr));
  std::vector<VkExtensionProperties> exts(count);
  R1VK_VK_TRY(vkEnumerateInstanceExtensionProperties(layer, &count, exts.data()));
  for (const auto& e : exts)
    if (std::strcmp(e.extensionName, name) == 0) return true;
  return false;
}

}  // namespace

bool validation_requested_by_env() {
  const char* v = std::getenv("R1VK_VALIDATION");
  return v != nullptr && v[0] != '\0' && std::strcmp(v, "0") != 0;
}

bool sync_validation_requested_by_env() {
  const char* v = std::getenv("R1VK_VALIDATION");
  return v != nullptr && std::strcmp(v, "sync") == 0;
}

Result<std::unique_ptr<Instance>> Instance::create(const InstanceOptions& options) {
  std::unique_ptr<Instance> inst(new Instance());
  inst->validation_ = options.validation || validation_requested_by_env();

  uint32_t loader_version = VK_API_VERSION_1_0;
  R1VK_VK_TRY(vkEnumerateInstanceVersion(&loader_version));
  if (loader_version < VK_API_VERSION_1_2)
    return make_error(ErrorCode::kUnsupported, "the Vulkan loader supports only " +
                                                   std::to_string(VK_API_VERSION_MAJOR(loader_version)) + "." +
                                                   std::to_string(VK_API_VERSION_MINOR(loader_version)) +
                                                   "; r1vk needs Vulkan 1.2");
  // Ask for 1.3 where the loader has it; devices still report (and are held to) their own version.
  inst->api_version_ = loader_version >= VK_API_VERSION_1_3 ? VK_API_VERSION_1_3 : VK_API_VERSION_1_2;

  std::vector<const char*> layers;
  std::vector<const char*> extensions;
  if (inst->validation_) {
    R1VK_ASSIGN_OR_RETURN(bool has_layer, layer_available(kValidationLayer));
    if (!has_layer)
      return make_error(ErrorCode::kNotFound, std::string("validation was requested but ") + kValidationLayer +
                                                  " is not installed (Debian: vulkan-validationlayers)");
    R1VK_ASSIGN_OR_RETURN(bool has_debug_utils, instance_extension_available(VK_EXT_DEBUG_UTILS_EXTENSION_NAME));
    if (!has_debug_utils)
      return make_error(ErrorCode::kNotFound, "validation was requested but VK_EXT_debug_utils is not available");
    layers.push_back(kValidationLayer);
    extensions.push_back(VK_EXT_DEBUG_UTILS_EXTENSION_NAME);
  }
  // Synchronization validation (hazards between dispatches, copies and host access that the
  // barriers fail to order) is off in the layer by default: it costs time on every command.
  const bool sync = inst->validation_ && sync_validation_requested_by_env();
  if (sync) {
    R1VK_ASSIGN_OR_RETURN(bool has_features,
                          instance_extension_available(VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME, kValidationLayer));
    if (!has_features)
      return make_error(ErrorCode::kNotFound, std::string("synchronization validation was requested but ") +
                                                  kValidationLayer + " lacks " + VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME);
    extensions.push_back(VK_EXT_VALIDATION_FEATURES_EXTENSION_NAME);
  }

  VkApplicationInfo app{};
  app.sType = VK_STRUCTURE_TYPE_APPLICATION_INFO;
  app.pApplicationName = "r1vk";
  app.applicationVersion = VK_MAKE_API_VERSION(0, 0, 1, 0);
  app.pEngineName = "r1vk";
  app.engineVersion = VK_MAKE_API_VERSION(0, 0, 1, 0);
  app.apiVersion = inst->api_version_;

  VkInstanceCreateInfo info{};
  info.sType = VK_STRUCTURE_TYPE_INSTANCE_CREATE_INFO;
  info.pApplicationInfo = &app;
  info.enabledLayerCount = static_cast<uint32_t>(layers.size());
  info.ppEnabledLayerNames = layers.data();
  info.enabledExtensionCount = static_cast<uint32_t>(extensions.size());
  info.ppEnabledExtensionNames = extensions.data();
  VkDebugUtilsMessengerCreateInfoEXT messenger_info = DebugMessenger::create_info(&inst->counter_);
  if (inst->validation_) info.pNext = &messenger_info;
  const VkValidationFeatureEnableEXT sync_enable = VK_VALIDATION_FEATURE_ENABLE_SYNCHRONIZATION_VALIDATION_EXT;
  VkValidationFeaturesEXT features{};
  features.sType = VK_STRUCTURE_TYPE_VALIDATION_FEATURES_EXT;
  features.enabledValidationFeatureCount = 1;
  features.pEnabledValidationFeatures = &sync_enable;
  if (sync) {
    features.pNext = info.pNext;
    info.pNext = &features;
  }

  const VkResult r = vkCreateInstance(&info, nullptr, &inst->instance_);
  if (r == VK_ERROR_INCOMPATIBLE_DRIVER)
    return vk_error(r, "vkCreateInstance").with_context("no usable Vulkan driver (Debian: mesa-vulkan-drivers for lavapipe)");
  R1VK_VK_TRY(r);
  if (inst->validation_) {
    R1VK_ASSIGN_OR_RETURN(inst->messenger_, DebugMessenger::create(inst->instance_, &inst->counter_));
  }
  return inst;
}

std::unique_ptr<Instance> Instance::adopt(VkInstance instance, uint32_t api_version) {
  std::unique_ptr<Instance> inst(new Instance());
  inst->instance_ = instance;
  inst->api_version_ = api_version;
  inst->owned_ = false;
  return inst;
}

Instance::~Instance() {
  messenger_ = DebugMessenger();
  if (owned_ && instance_ != VK_NULL_HANDLE) vkDestroyInstance(instance_, nullptr);
}

std::string Instance::last_validation_error() {
  std::lock_guard<std::mutex> lock(counter_.mutex);
  return counter_.last_error;
}

}  // namespace r1vk::vk
