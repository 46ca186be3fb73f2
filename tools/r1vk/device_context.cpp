#include "device_context.h"

namespace r1vk::cli {

Result<std::unique_ptr<vk::Context>> open_device(std::optional<int> device_index, uint64_t budget_bytes) {
  vk::ContextOptions options;
  options.device_index = device_index;
  options.allocator.budget_bytes = budget_bytes;
  return vk::Context::create(options);
}

}  // namespace r1vk::cli
