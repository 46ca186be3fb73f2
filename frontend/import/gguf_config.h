// GGUF metadata -> ModelConfig for the architectures r1vk runs: `deepseek2` (DeepSeek V2,
// V2-Lite, V3, R1), `qwen2` (R1-Distill-Qwen) and `llama` (R1-Distill-Llama). Keys follow
// llama.cpp's convert_hf_to_gguf.py; facts the metadata leaves out are read from tensor shapes
// (vocabulary size, tied embeddings, the MLA layout). Other architectures are kUnsupported, named.
#pragma once

#include <string>

#include "base/status.h"
#include "import/gguf_split.h"
#include "import/model_config.h"

namespace r1vk {

enum class GgufMlaLayout {
  kNone,    // not DeepSeek
  kKvB,     // older files: one blk.N.attn_kv_b.weight as in the Hugging Face checkpoint
  kSplitKvB,  // newer files: attn_k_b (transposed) and attn_v_b, split per head for MLA absorption
};

struct GgufModelInfo {
  ModelConfig config;
  std::string architecture;  // general.architecture
  GgufMlaLayout mla_layout = GgufMlaLayout::kNone;
};

Result<GgufModelInfo> gguf_model_config(const GgufModelFiles& files);

}  // namespace r1vk
