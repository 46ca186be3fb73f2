// The Vulkan context every device command opens: --device N, validation when R1VK_VALIDATION=1.
#pragma once

#include <memory>
#include <optional>

#include "base/status.h"
#include "vulkan/context.h"

namespace r1vk::cli {

Result<std::unique_ptr<vk::Context>> open_device(std::optional<int> device_index);

}  // namespace r1vk::cli
