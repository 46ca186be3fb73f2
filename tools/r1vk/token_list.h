// Comma-separated token ids from the command line ("0, 5,17"): digits only, each below 10^9.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"

namespace r1vk::cli {

// `flag` names the option in errors ("--tokens: \"x\" is not a token id").
Result<std::vector<int32_t>> parse_token_list(const std::string& list, const std::string& flag);

}  // namespace r1vk::cli
