// UTF-8 helpers the tokenizer needs: validation (encode rejects invalid text), the length of the
// longest complete prefix (streaming decode holds back partial characters), code point decoding
// and Unicode White_Space (added tokens' lstrip/rstrip).
#pragma once

#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

namespace r1vk::text {

// Byte offset of the first invalid UTF-8 sequence, or nullopt when `s` is valid UTF-8
// (shortest form, no surrogates, at most U+10FFFF).
std::optional<size_t> find_invalid_utf8(std::string_view s);

// Length of the well-formed sequence starting at s[pos]: 1..4, or 0 when the bytes there are
// not a complete valid sequence. `*incomplete` is set when they are a valid but unfinished prefix.
size_t utf8_sequence_length(std::string_view s, size_t pos, bool* incomplete);

// Decodes the code point at s[pos] of valid UTF-8 and advances pos.
char32_t decode_utf8(std::string_view s, size_t& pos);

// Decodes the code point that ends just before s[end] in valid UTF-8.
char32_t decode_utf8_before(std::string_view s, size_t end, size_t* start);

void append_utf8(std::string& out, char32_t cp);

// Unicode White_Space property (the set Rust's char::is_whitespace uses).
bool is_unicode_whitespace(char32_t cp);

// Appends `bytes` to `out`, replacing each maximal invalid subsequence by U+FFFD, as lossy
// UTF-8 conversion does. Decoding uses it: token ids can form any byte sequence.
void append_utf8_lossy(std::string& out, std::string_view bytes);

}  // namespace r1vk::text
