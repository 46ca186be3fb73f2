// Which MTP layers a checkpoint really holds. Hugging Face transformers ignores the MTP layer, so
// many re-uploads strip it while config.json keeps num_nextn_predict_layers; DeepSeek's
// README_WEIGHTS says the layer's embed_tokens and shared_head.head are the main model's, so some
// checkpoints omit those two. Neither stops the main model from running.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "import/checkpoint.h"
#include "import/model_config.h"

namespace r1vk {

struct MtpLayers {
  int64_t declared = 0;           // config.json's num_nextn_predict_layers
  int64_t present = 0;            // complete MTP layers, counted from the first
  std::set<std::string> ignored;  // tensors of absent or incomplete MTP layers
  std::string warning;            // empty when every declared layer is present
};

// Counts the complete MTP layers (a layer is complete when it holds every tensor of
// expected_tensors for it, its embedding and head optional) and updates `config`:
// num_nextn_predict_layers = present, mtp_shares_embedding / mtp_shares_head from the first
// MTP layer. Layers after the first absent or incomplete one are not used either.
MtpLayers resolve_mtp_layers(const Checkpoint& checkpoint, ModelConfig& config);

}  // namespace r1vk
