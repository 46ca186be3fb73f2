// The parts of a checkpoint's tokenizer_config.json the runtime uses: which strings are BOS and
// EOS, whether BOS is added by default, and whether decoding cleans up tokenization spaces.
#pragma once

#include <optional>
#include <string>
#include <string_view>

#include "base/status.h"

namespace r1vk::text {

struct TokenizerConfig {
  std::optional<std::string> bos_token;
  std::optional<std::string> eos_token;
  bool add_bos_token = false;
  bool clean_up_tokenization_spaces = false;
  std::string chat_template;  // kept for inspection; r1vk renders the R1 format natively
};

// Parses tokenizer_config.json text. Empty text yields the defaults (no config file).
Result<TokenizerConfig> parse_tokenizer_config(std::string_view json_text);

}  // namespace r1vk::text
