// Writes a synthetic Hugging Face checkpoint directory for any supported ModelConfig: config.json,
// model.safetensors (or shards + model.safetensors.index.json), tokenizer.json and
// tokenizer_config.json. Weights are random but well-scaled (tensor_values.h); linear weights are
// FP8 e4m3 with 128x128 block scales when config.fp8.enabled, as DeepSeek ships R1. Tensors are
// streamed one by one, so memory stays bounded for checkpoints of any size.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "import/model_config.h"

namespace r1vk::gen {

struct GenOptions {
  ModelConfig config;   // bos/eos ids are replaced by the generated tokenizer's
  uint64_t seed = 0;
  int64_t shards = 1;   // >1 writes model-0000i-of-0000n.safetensors + index
  int64_t max_merges = 200;
};

struct GenSummary {
  int64_t tensors = 0;
  int64_t shards = 0;
  uint64_t bytes = 0;  // tensor data
};

Result<GenSummary> generate_checkpoint(const std::string& dir, const GenOptions& options);

}  // namespace r1vk::gen
