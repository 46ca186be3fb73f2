// The byte-level alphabet of GPT-2 style BPE: every byte 0..255 is shown as one printable code
// point, so vocab and merges in tokenizer.json are written in these characters ("Ġ" is a space).
// r1vk works on raw bytes internally and converts vocab entries once at load time.
#pragma once

#include <optional>
#include <string>
#include <string_view>

namespace r1vk::text {

// The code point that stands for `byte`.
char32_t byte_to_char(unsigned char byte);

// Raw bytes of a token written in the byte-level alphabet, or nullopt when it contains a code
// point outside the alphabet (such tokens, e.g. added ones, are kept verbatim).
std::optional<std::string> byte_level_to_bytes(std::string_view token);

// The byte-level spelling of raw bytes (for messages and the tokenize tool's token view).
std::string bytes_to_byte_level(std::string_view bytes);

}  // namespace r1vk::text
