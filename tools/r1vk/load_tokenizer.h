// How CLI commands find a tokenizer: a checkpoint directory (its tokenizer.json and
// tokenizer_config.json), a tokenizer.json file, or a plan file (which embeds both texts).
#pragma once

#include <string>

#include "text/tokenizer.h"

namespace r1vk::cli {

Result<text::Tokenizer> load_tokenizer(const std::string& path);

}  // namespace r1vk::cli
