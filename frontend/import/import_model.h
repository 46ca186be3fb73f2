// The one-call import: config.json parsed and validated, shards opened and validated, the tensor
// inventory checked against the config, and the checkpoint's FP8 block size set from the config.
#pragma once

#include <string>

#include "base/status.h"
#include "import/checkpoint.h"
#include "import/model_config.h"

namespace r1vk {

struct ImportedModel {
  ModelConfig config;
  Checkpoint checkpoint;
};

Result<ImportedModel> import_model(const std::string& dir);

}  // namespace r1vk
