// The Vulkan context every device command opens: --device N, validation when R1VK_VALIDATION=1,
// optionally a device-memory budget (--gpu-memory).
#pragma once

#include <memory>
#include <optional>

#include "base/status.h"
#include "vulkan/context.h"

namespace r1vk::cli {

Result<std::unique_ptr<vk::Context>> open_device(std::optional<int> device_index, uint64_t budget_bytes = 0);

}  // namespace r1vk::cli
