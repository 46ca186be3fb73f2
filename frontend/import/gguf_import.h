// The one-call GGUF import: files (single or split) opened and validated, metadata mapped to a
// ModelConfig, the tensors checked against the config's inventory and presented under Hugging
// Face names, config.json / tokenizer.json texts synthesised for the plan.
#pragma once

#include <memory>
#include <string>

#include "base/status.h"
#include "import/gguf_config.h"
#include "import/gguf_split.h"
#include "import/gguf_tokenizer.h"
#include "import/gguf_weights.h"
#include "import/weight_source.h"

namespace r1vk {

struct GgufImport {
  std::unique_ptr<GgufModelFiles> files;
  std::unique_ptr<GgufWeights> weights;  // refers to *files
  std::string config_json;               // config.json equivalent of the metadata
  GgufTokenizerJson tokenizer;

  const ModelConfig& config() const { return weights->config(); }
  // Reads tensors by Hugging Face name with the element count checked.
  WeightFn weight_fn() const;
};

// True for an existing regular file that starts with the GGUF magic.
bool is_gguf_file(const std::string& path);

Result<GgufImport> import_gguf(const std::string& path);

}  // namespace r1vk
