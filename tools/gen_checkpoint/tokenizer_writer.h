// A small but valid byte-level BPE tokenizer in Hugging Face's tokenizer.json form: the 256 byte
// tokens (GPT-2 byte-to-unicode alphabet), merges learnt from a built-in English sample, and R1's
// special tokens after them. Plus tokenizer_config.json with a chat template.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "base/json_util.h"

namespace r1vk::gen {

inline constexpr const char* kBosToken = "<\xEF\xBD\x9C" "begin\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>";
inline constexpr const char* kEosToken = "<\xEF\xBD\x9C" "end\xE2\x96\x81of\xE2\x96\x81sentence\xEF\xBD\x9C>";
inline constexpr const char* kUserToken = "<\xEF\xBD\x9CUser\xEF\xBD\x9C>";
inline constexpr const char* kAssistantToken = "<\xEF\xBD\x9C" "Assistant\xEF\xBD\x9C>";
inline constexpr const char* kThinkToken = "<think>";
inline constexpr const char* kEndThinkToken = "</think>";

struct TokenizerSpec {
  Json tokenizer;         // tokenizer.json
  Json tokenizer_config;  // tokenizer_config.json
  int64_t token_count = 0;  // ids 0..token_count-1 are used
  int64_t bos_id = 0;
  int64_t eos_id = 0;
};

// Learns at most min(max_merges, vocab_size - 262) merges; fails when vocab_size < 262.
Result<TokenizerSpec> make_tokenizer(int64_t vocab_size, int64_t max_merges, int64_t model_max_length);

// The GPT-2 byte-to-unicode mapping: the UTF-8 string standing for byte b.
std::string byte_to_unicode(uint8_t b);

}  // namespace r1vk::gen
