// How CLI commands find a tokenizer: a checkpoint directory (its tokenizer.json and
// tokenizer_config.json) or a tokenizer.json file. Plans will embed the tokenizer.json text and
// load it through Tokenizer::from_json, the same entry point this ends in.
#pragma once

#include <string>

#include "text/tokenizer.h"

namespace r1vk::cli {

Result<text::Tokenizer> load_tokenizer(const std::string& path);

}  // namespace r1vk::cli
