// The parts of a checkpoint's tokenizer_config.json the runtime uses: which strings are BOS and
// EOS, whether BOS and EOS are added to encoded text, and whether decoding cleans up tokenization
// spaces.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace r1vk::text {

struct TokenizerConfig {
  std::optional<std::string> bos_token;
  std::optional<std::string> eos_token;
  // Whether Hugging Face's tokenizer(text) adds BOS / EOS (LlamaTokenizerFast rebuilds its
  // post-processor from these). Unset when the file does not say.
  std::optional<bool> add_bos_token;
  std::optional<bool> add_eos_token;
  bool clean_up_tokenization_spaces = false;
  std::string chat_template;  // kept for inspection; r1vk renders the R1 format natively
};

// Parses tokenizer_config.json text. Empty text yields the defaults (no config file).
Result<TokenizerConfig> parse_tokenizer_config(std::string_view json_text);

}  // namespace r1vk::text
