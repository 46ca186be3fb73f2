// `r1vk devices [--json]`: every Vulkan device with the features and limits r1vk cares about,
// the default one marked. Devices that cannot run r1vk are listed with what they lack.
#include <nlohmann/json.hpp>

#include <cstdio>
#include <string>

#include "command.h"
#include "vulkan/instance.h"
#include "vulkan/physical_device.h"

namespace r1vk::cli {
namespace {

std::string mib(uint64_t bytes) { return std::to_string(bytes >> 20) + " MiB"; }
const char* yes_no(bool b) { return b ? "yes" : "no"; }

nlohmann::json caps_json(const vk::DeviceCaps& c) {
  nlohmann::json heaps = nlohmann::json::array();
  for (const auto& h : c.heaps)
    heaps.push_back({{"size", h.size}, {"device_local", h.device_local}, {"budget", h.budget}, {"usage", h.usage}});
  return {
      {"name", c.name},
      {"type", vk::device_type_name(c.type)},
      {"vulkan", vk::version_string(c.api_version)},
      {"driver", c.driver_name + " " + c.driver_info},
      {"vendor_id", c.vendor_id},
      {"device_id", c.device_id},
      {"shader_float16", c.shader_float16},
      {"shader_int8", c.shader_int8},
      {"storage_buffer_16bit", c.storage_buffer_16bit},
      {"storage_buffer_8bit", c.storage_buffer_8bit},
      {"subgroup_size", c.subgroup_size},
      {"subgroup_size_range", {c.min_subgroup_size, c.max_subgroup_size}},
      {"subgroup_ops", vk::subgroup_ops_string(c.subgroup_ops_in_compute ? c.subgroup_ops : 0)},
      {"buffer_device_address", c.buffer_device_address},
      {"timeline_semaphore", c.timeline_semaphore},
      {"integer_dot_product", c.integer_dot_product},
      {"integer_dot_product_4x8_accelerated", c.integer_dot_product_4x8_accelerated},
      {"cooperative_matrix", c.cooperative_matrix},
      {"memory_budget", c.memory_budget},
      {"push_descriptor", c.push_descriptor},
      {"max_storage_buffer_range", c.max_storage_buffer_range},
      {"max_memory_allocation_size", c.max_memory_allocation_size},
      {"max_buffer_size", c.max_buffer_size},
      {"max_compute_shared_memory_size", c.max_compute_shared_memory_size},
      {"max_workgroup_invocations", c.max_workgroup_invocations},
      {"max_workgroup_size", {c.max_workgroup_size[0], c.max_workgroup_size[1], c.max_workgroup_size[2]}},
      {"max_workgroup_count", {c.max_workgroup_count[0], c.max_workgroup_count[1], c.max_workgroup_count[2]}},
      {"max_push_constants_size", c.max_push_constants_size},
      {"non_coherent_atom_size", c.non_coherent_atom_size},
      {"timestamp_period_ns", c.timestamp_period_ns},
      {"timestamp_valid_bits", c.timestamp_valid_bits},
      {"memory_heaps", heaps},
  };
}

void print_caps(size_t index, const vk::DeviceCaps& c, bool is_default, const std::vector<std::string>& missing) {
  std::printf("%s[%zu] %s (%s)\n", is_default ? "* " : "  ", index, c.name.c_str(), vk::device_type_name(c.type));
  std::printf("      Vulkan %s, driver %s %s\n", vk::version_string(c.api_version).c_str(), c.driver_name.c_str(),
              c.driver_info.c_str());
  std::printf("      fp16 arithmetic %s, int8 arithmetic %s, 16-bit storage %s, 8-bit storage %s\n",
              yes_no(c.shader_float16), yes_no(c.shader_int8), yes_no(c.storage_buffer_16bit), yes_no(c.storage_buffer_8bit));
  std::printf("      subgroup size %u (range %u..%u), ops: %s\n", c.subgroup_size, c.min_subgroup_size, c.max_subgroup_size,
              vk::subgroup_ops_string(c.subgroup_ops_in_compute ? c.subgroup_ops : 0).c_str());
  std::printf("      buffer device address %s, timeline semaphore %s, integer dot product %s (4x8 accelerated %s), "
              "cooperative matrix %s, push descriptors %s\n",
              yes_no(c.buffer_device_address), yes_no(c.timeline_semaphore), yes_no(c.integer_dot_product),
              yes_no(c.integer_dot_product_4x8_accelerated), yes_no(c.cooperative_matrix),
              yes_no(c.push_descriptor));
  std::printf("      maxStorageBufferRange %s, maxMemoryAllocationSize %s, maxBufferSize %s\n",
              mib(c.max_storage_buffer_range).c_str(), mib(c.max_memory_allocation_size).c_str(),
              c.max_buffer_size ? mib(c.max_buffer_size).c_str() : "unknown");
  std::printf("      maxComputeSharedMemorySize %u B, workgroup invocations %u, size %u x %u x %u, count %u x %u x %u\n",
              c.max_compute_shared_memory_size, c.max_workgroup_invocations, c.max_workgroup_size[0],
              c.max_workgroup_size[1], c.max_workgroup_size[2], c.max_workgroup_count[0], c.max_workgroup_count[1],
              c.max_workgroup_count[2]);
  std::printf("      push constants %u B, nonCoherentAtomSize %llu, timestampPeriod %g ns (%u valid bits)\n",
              c.max_push_constants_size, static_cast<unsigned long long>(c.non_coherent_atom_size), c.timestamp_period_ns,
              c.timestamp_valid_bits);
  for (size_t h = 0; h < c.heaps.size(); ++h) {
    std::printf("      heap %zu: %s%s", h, mib(c.heaps[h].size).c_str(), c.heaps[h].device_local ? " device-local" : "");
    if (c.memory_budget) std::printf(", budget %s, used %s", mib(c.heaps[h].budget).c_str(), mib(c.heaps[h].usage).c_str());
    std::printf("\n");
  }
  if (!c.memory_budget) std::printf("      (VK_EXT_memory_budget not supported: no live budget)\n");
  if (!missing.empty()) {
    std::string list;
    for (const auto& m : missing) list += (list.empty() ? "" : ", ") + m;
    std::printf("      UNUSABLE by r1vk: lacks %s\n", list.c_str());
  }
}

Status list_devices(bool json) {
  R1VK_ASSIGN_OR_RETURN(auto instance, vk::Instance::create({}));
  R1VK_ASSIGN_OR_RETURN(auto devices, vk::enumerate_physical_devices(instance->handle(), instance->api_version()));
  if (devices.empty()) return make_error(ErrorCode::kNotFound, "no Vulkan device found (install mesa-vulkan-drivers for lavapipe)");
  auto chosen = vk::default_device_index(devices);
  // SIZE_MAX: no device qualifies (still listed, with what each lacks).
  const size_t default_index = chosen.ok() ? *chosen : SIZE_MAX;
  if (json) {
    nlohmann::json out = {{"default", chosen.ok() ? nlohmann::json(default_index) : nlohmann::json(nullptr)},
                          {"devices", nlohmann::json::array()}};
    for (size_t i = 0; i < devices.size(); ++i) {
      nlohmann::json d = caps_json(devices[i].caps);
      d["index"] = i;
      d["missing_required"] = vk::missing_required_features(devices[i].caps);
      out["devices"].push_back(std::move(d));
    }
    std::printf("%s\n", out.dump(2).c_str());
  } else {
    std::printf("Vulkan devices (* = default, override with --device N):\n");
    for (size_t i = 0; i < devices.size(); ++i)
      print_caps(i, devices[i].caps, default_index == i, vk::missing_required_features(devices[i].caps));
  }
  if (!chosen.ok()) return std::move(chosen).error();
  return ok_status();
}

}  // namespace

void add_devices_command(CLI::App& app, CommandFn& selected) {
  auto* cmd = app.add_subcommand("devices", "List Vulkan devices with their features and limits");
  auto json = std::make_shared<bool>(false);
  cmd->add_flag("--json", *json, "Print machine-readable JSON");
  cmd->callback([&selected, json] { selected = [json] { return list_devices(*json); }; });
}

}  // namespace r1vk::cli
