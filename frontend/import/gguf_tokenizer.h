// The tokenizer a GGUF file carries (tokenizer.ggml.* and tokenizer.chat_template), rewritten as
// the Hugging Face tokenizer.json / tokenizer_config.json texts r1vk's runtime tokenizer loads
// and a plan embeds. Supported: tokenizer.ggml.model "gpt2" (byte-level BPE) with
// tokenizer.ggml.pre "deepseek-v3", "deepseek-llm", "qwen2" (or "deepseek-r1-qwen", llama.cpp's name
// for the same pre-tokenizer in the R1 Qwen distills) or "llama-bpe"; anything else is
// kUnsupported, named. Token types (llama.cpp): 1 normal, 2 unknown, 3 control, 4 user-defined,
// 5 unused, 6 byte. Control tokens become special added tokens, user-defined ones non-special
// added tokens, unused ids are left out.
#pragma once

#include <string>

#include "base/status.h"
#include "import/gguf_metadata.h"

namespace r1vk {

struct GgufTokenizerJson {
  std::string tokenizer_json;         // empty when the file has no tokenizer
  std::string tokenizer_config_json;
};

Result<GgufTokenizerJson> gguf_tokenizer_json(const GgufMetadata& metadata);

}  // namespace r1vk
