// Property tests: byte-level BPE is lossless. Random byte strings (valid UTF-8 or not) survive
// encode_bytes -> decode_bytes; random valid text survives encode -> decode (Qwen: its NFC form).
#include <doctest/doctest.h>

#include <random>

#include "text/tokenizer_test_data.h"
#include "text/utf8.h"

namespace r1vk::text {
namespace {

// Mixes ASCII, whitespace, multi-byte characters and raw bytes so pre-tokenizer splits, byte
// fallbacks and merges are all exercised.
std::string random_bytes(std::mt19937& rng, bool valid_utf8) {
  static const char* const kPieces[] = {" ", "  ", "\n", "\r\n", "\t", "a", "Z", "the", "'s", "42", "1234567",
                                        "é", "е", "中文", "の", "😀", "\xcc\x88", "\xe2\x80\x8b", ".", "<think>",
                                        "<｜User｜>", "ﬁ", "Å"};
  std::uniform_int_distribution<int> len(0, 40);
  std::uniform_int_distribution<size_t> piece(0, std::size(kPieces) - 1);
  std::uniform_int_distribution<int> byte(0, 255);
  std::uniform_int_distribution<int> coin(0, 9);
  std::string s;
  for (int i = len(rng); i > 0; --i) {
    if (!valid_utf8 && coin(rng) < 3) s += static_cast<char>(byte(rng));
    else s += kPieces[piece(rng)];
  }
  return s;
}

TEST_CASE("random byte strings round-trip through encode_bytes/decode_bytes") {
  for (const char* name : testing::kTokenizerNames) {
    const Tokenizer& tok = testing::tokenizer(name);
    std::mt19937 rng(1234);
    for (int i = 0; i < 400; ++i) {
      const std::string bytes = random_bytes(rng, /*valid_utf8=*/false);
      auto ids = tok.encode_bytes(bytes);
      REQUIRE(ids.ok());
      auto back = tok.decode_bytes(*ids);
      REQUIRE(back.ok());
      REQUIRE_MESSAGE(*back == bytes, name << " case " << i);
    }
  }
}

TEST_CASE("random valid text round-trips through encode/decode") {
  for (const char* name : testing::kTokenizerNames) {
    const Tokenizer& tok = testing::tokenizer(name);
    const bool is_qwen = std::string(name) == "qwen3";
    std::mt19937 rng(99);
    for (int i = 0; i < 400; ++i) {
      const std::string text = random_bytes(rng, /*valid_utf8=*/true);
      REQUIRE_FALSE(find_invalid_utf8(text).has_value());
      auto ids = tok.encode(text);
      REQUIRE(ids.ok());
      auto back = tok.decode(*ids, {.skip_special = false, .clean_up_spaces = false});
      REQUIRE(back.ok());
      if (is_qwen) {
        // Qwen normalises to NFC first: decoding gives the NFC form, which re-encodes identically.
        auto again = tok.encode(*back);
        REQUIRE(again.ok());
        REQUIRE_MESSAGE(*again == *ids, name << " case " << i);
      } else {
        REQUIRE_MESSAGE(*back == text, name << " case " << i);
      }
    }
  }
}

TEST_CASE("encode_bytes agrees with encode on valid text without added tokens or normalisation") {
  const Tokenizer& tok = testing::tokenizer("deepseek_r1");
  const std::string text = "Byte-level BPE: 12345 apples, 中文 and émoji 😀.\n";
  CHECK(*tok.encode_bytes(text) == *tok.encode(text));
}

TEST_CASE("a long word without spaces encodes quickly and losslessly") {
  // 200 KB of one pre-token: the heap-based merge loop keeps this far from quadratic.
  const Tokenizer& tok = testing::tokenizer("deepseek_r1");
  std::string word;
  for (int i = 0; i < 20000; ++i) word += "abcdefghij";
  auto ids = tok.encode(word);
  REQUIRE(ids.ok());
  CHECK(ids->size() < word.size() / 2);
  CHECK(*tok.decode(*ids) == word);
}

}  // namespace
}  // namespace r1vk::text
