#include "vulkan/physical_device.h"

#include <string>

#include "vulkan/vk_check.h"

namespace r1vk::vk {
namespace {

std::string join(const std::vector<std::string>& items) {
  std::string out;
  for (const auto& s : items) out += (out.empty() ? "" : ", ") + s;
  return out;
}

}  // namespace

Result<std::vector<PhysicalDevice>> enumerate_physical_devices(VkInstance instance, uint32_t instance_api_version) {
  uint32_t count = 0;
  R1VK_VK_TRY(vkEnumeratePhysicalDevices(instance, &count, nullptr));
  std::vector<VkPhysicalDevice> handles(count);
  R1VK_VK_TRY(vkEnumeratePhysicalDevices(instance, &count, handles.data()));
  std::vector<PhysicalDevice> out;
  for (uint32_t i = 0; i < count; ++i) {
    auto caps = probe_device_caps(handles[i], instance_api_version);
    if (!caps.ok()) return std::move(caps).error().with_context("probing Vulkan device " + std::to_string(i));
    out.push_back({handles[i], std::move(caps).value()});
  }
  return out;
}

int device_type_rank(VkPhysicalDeviceType type) {
  switch (type) {
    case VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU: return 4;
    case VK_PHYSICAL_DEVICE_TYPE_INTEGRATED_GPU: return 3;
    case VK_PHYSICAL_DEVICE_TYPE_VIRTUAL_GPU: return 2;
    case VK_PHYSICAL_DEVICE_TYPE_CPU: return 1;
    default: return 0;
  }
}

Result<size_t> default_device_index(std::span<const PhysicalDevice> devices) {
  if (devices.empty())
    return make_error(ErrorCode::kNotFound, "no Vulkan device found (install mesa-vulkan-drivers for lavapipe)");
  std::optional<size_t> best;
  std::string rejected;
  for (size_t i = 0; i < devices.size(); ++i) {
    const auto missing = missing_required_features(devices[i].caps);
    if (!missing.empty()) {
      rejected += "; device " + std::to_string(i) + " (" + devices[i].caps.name + ") lacks " + join(missing);
      continue;
    }
    if (!best || device_type_rank(devices[i].caps.type) > device_type_rank(devices[*best].caps.type)) best = i;
  }
  if (!best) return make_error(ErrorCode::kUnsupported, "no usable Vulkan device" + rejected);
  return *best;
}

Result<size_t> select_device_index(std::span<const PhysicalDevice> devices, std::optional<int> requested) {
  if (!requested) return default_device_index(devices);
  const int n = static_cast<int>(devices.size());
  if (*requested < 0 || *requested >= n)
    return make_error(ErrorCode::kInvalidArgument,
                      "Vulkan device " + std::to_string(*requested) + " does not exist: " + std::to_string(n) +
                          " Vulkan device(s) found" + (n > 0 ? " (valid: 0.." + std::to_string(n - 1) + ")" : "") +
                          "; run `r1vk devices` to list them");
  const auto idx = static_cast<size_t>(*requested);
  const auto missing = missing_required_features(devices[idx].caps);
  if (!missing.empty())
    return make_error(ErrorCode::kUnsupported, "Vulkan device " + std::to_string(idx) + " (" + devices[idx].caps.name +
                                                   ") cannot run r1vk: it lacks " + join(missing));
  return idx;
}

}  // namespace r1vk::vk
