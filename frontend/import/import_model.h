// The one-call import: config.json parsed and validated, shards opened and validated, the MTP
// layers the checkpoint really holds resolved (mtp_layers.h), the tensor inventory checked
// against the config, and the checkpoint's FP8 block size set from the config.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "import/checkpoint.h"
#include "import/model_config.h"

namespace r1vk {

struct ImportedModel {
  // As the checkpoint can run: num_nextn_predict_layers counts the MTP layers present and the
  // mtp_shares_* flags say which MTP tensors are the main model's.
  ModelConfig config;
  Checkpoint checkpoint;
  int64_t declared_mtp_layers = 0;  // config.json's num_nextn_predict_layers
  // What does not fit but does not stop the model from running (missing MTP layer, token ids
  // outside the vocabulary, generation_config.json disagreeing): callers show each once.
  std::vector<std::string> warnings;
};

Result<ImportedModel> import_model(const std::string& dir);

}  // namespace r1vk
