// config.json -> ModelConfig for the four supported architectures (MODEL_SPEC.md §1). Every
// field read is type- and range-checked; consistency is checked by validate_model_config.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "base/json_util.h"
#include "import/model_config.h"

namespace r1vk {

inline constexpr uint64_t kMaxConfigJsonBytes = 16ull << 20;

// Messages name the field: "field 'topk_group': 5 exceeds n_group (4)". Metadata that does not
// fit but is not needed to run (bos/eos ids) is appended to `warnings` (when given), not refused.
Result<ModelConfig> parse_model_config(const Json& config, std::vector<std::string>* warnings = nullptr);
// Reads `path` (config.json) and prefixes errors with it.
Result<ModelConfig> load_model_config(const std::string& path, std::vector<std::string>* warnings = nullptr);

// Cross-field consistency (heads divisible by KV heads, topk_group <= n_group, token ids in the
// vocabulary, method/architecture combinations, ...). The generator runs it on its presets too.
Status validate_model_config(const ModelConfig& config);

// "deepseek_v3", "deepseek_v2", "qwen2", "llama": the config.json model_type of each architecture.
const char* model_type_name(Architecture arch);

}  // namespace r1vk
