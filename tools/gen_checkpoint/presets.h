// Named model configurations for the generator and tests. Tiny presets use odd sizes (hidden not
// a power of two, partial FP8 blocks) to exercise edge cases; tiny-r1 keeps R1's real MLA head
// dims. v2-lite has DeepSeek-V2-Lite's real shapes (for benchmarks); r1, distill-qwen-1.5b and
// distill-llama-8b have the published shapes (for size calculations, not for generating).
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "import/model_config.h"

namespace r1vk::gen {

std::vector<std::string> preset_names();
Result<ModelConfig> preset_config(const std::string& name);

}  // namespace r1vk::gen
