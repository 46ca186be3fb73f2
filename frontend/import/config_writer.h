// ModelConfig -> config.json in the shape the published checkpoints use for each architecture
// (field names, nulls for absent q LoRA / rope scaling, quantization_config for FP8).
#pragma once

#include "base/json_util.h"
#include "import/model_config.h"

namespace r1vk {

Json model_config_to_json(const ModelConfig& config);

}  // namespace r1vk
