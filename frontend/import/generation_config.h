// generation_config.json: transformers' sampling defaults and special-token ids. r1vk takes
// neither from it (sampling comes from the command line or API, special tokens from the
// tokenizer files), so it is only read to warn when its token ids disagree with config.json's.
#pragma once

#include <string>
#include <vector>

#include "base/json_util.h"

namespace r1vk {

inline constexpr const char* kGenerationConfigFileName = "generation_config.json";

// Warnings (never errors) about `dir`/generation_config.json against the parsed config.json
// object: unreadable or malformed file, bos_token_id / eos_token_id that disagree (as sets of
// ids: 1 and [1] agree). No file: no warnings.
std::vector<std::string> check_generation_config(const std::string& dir, const Json& config_json);

}  // namespace r1vk
