// The integer type of token ids throughout the text library (vocabularies stay below 2^24).
#pragma once

#include <cstdint>

namespace r1vk::text {

using TokenId = uint32_t;

}  // namespace r1vk::text
