#include "device_context.h"

namespace r1vk::cli {

Result<std::unique_ptr<vk::Context>> open_device(std::optional<int> device_index) {
  vk::ContextOptions options;
  options.device_index = device_index;
  return vk::Context::create(options);
}

}  // namespace r1vk::cli
