// UTF-8 validation and lossy conversion follow the Unicode rules for ill-formed sequences.
#include <doctest/doctest.h>

#include "text/byte_level.h"
#include "text/utf8.h"

namespace r1vk::text {
namespace {

TEST_CASE("find_invalid_utf8 rejects overlongs, surrogates, out-of-range and truncated sequences") {
  CHECK_FALSE(find_invalid_utf8("plain ascii text, long enough to use the fast path").has_value());
  CHECK_FALSE(find_invalid_utf8("é中😀\xF4\x8F\xBF\xBF").has_value());
  CHECK(find_invalid_utf8("abcdefghij\x80").value() == 10);
  CHECK(find_invalid_utf8("\xC0\xAF").value() == 0);          // overlong '/'
  CHECK(find_invalid_utf8("x\xE0\x80\xAF").value() == 1);     // overlong
  CHECK(find_invalid_utf8("xy\xED\xA0\x80").value() == 2);    // surrogate D800
  CHECK(find_invalid_utf8("\xF4\x90\x80\x80").value() == 0);  // above U+10FFFF
  CHECK(find_invalid_utf8("ok\xE4\xB8").value() == 2);        // truncated
}

TEST_CASE("lossy conversion replaces each maximal invalid subsequence by one U+FFFD") {
  const std::string r = "\xEF\xBF\xBD";
  auto lossy = [](std::string_view s) {
    std::string out;
    append_utf8_lossy(out, s);
    return out;
  };
  CHECK(lossy("a\xE4\xB8z") == "a" + r + "z");  // truncated 3-byte: one replacement
  CHECK(lossy("\xFF\xFE") == r + r);
  CHECK(lossy("\xF0\x9F\x98") == r);
  CHECK(lossy("é") == "é");
}

TEST_CASE("byte-level alphabet: printable bytes stand for themselves, others shift past 255") {
  CHECK(bytes_to_byte_level(" ") == "Ġ");
  CHECK(bytes_to_byte_level("\n") == "Ċ");
  CHECK(bytes_to_byte_level("a!~") == "a!~");
  for (unsigned b = 0; b < 256; ++b) {
    const std::string one(1, static_cast<char>(b));
    CHECK(byte_level_to_bytes(bytes_to_byte_level(one)).value() == one);
  }
  CHECK_FALSE(byte_level_to_bytes("<｜User｜>").has_value());
}

}  // namespace
}  // namespace r1vk::text
