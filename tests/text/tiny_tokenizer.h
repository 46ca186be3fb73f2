// A small hand-made byte-level BPE tokenizer.json for tests that need to vary one field at a
// time: all 256 byte tokens (ids 0..255 in byte order), a few merges, a GPT-2 style split.
#pragma once

#include <nlohmann/json.hpp>

#include "text/byte_level.h"

namespace r1vk::text::testing {

inline std::string byte_token(unsigned char b) { return bytes_to_byte_level(std::string(1, static_cast<char>(b))); }

inline nlohmann::json tiny_tokenizer_json() {
  nlohmann::json vocab = nlohmann::json::object();
  for (unsigned b = 0; b < 256; ++b) vocab[byte_token(static_cast<unsigned char>(b))] = b;
  // Merges build "he", "ll", "hell", "hello", "Ġw" and "Ġwo" (ids 256..261).
  const char* merged[] = {"he", "ll", "hell", "hello", "Ġw", "Ġwo"};
  for (unsigned i = 0; i < 6; ++i) vocab[merged[i]] = 256 + i;
  nlohmann::json j;
  j["version"] = "1.0";
  j["normalizer"] = nullptr;
  j["pre_tokenizer"] = {
      {"type", "Sequence"},
      {"pretokenizers",
       nlohmann::json::array(
           {{{"type", "Split"},
             {"pattern", {{"Regex", R"( ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)"}}},
             {"behavior", "Isolated"},
             {"invert", false}},
            {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"trim_offsets", true}, {"use_regex", false}}})}};
  j["post_processor"] = nullptr;
  j["decoder"] = {{"type", "ByteLevel"}, {"add_prefix_space", true}, {"trim_offsets", true}, {"use_regex", true}};
  j["model"] = {{"type", "BPE"},
                {"dropout", nullptr},
                {"unk_token", nullptr},
                {"vocab", vocab},
                {"merges", nlohmann::json::array({"h e", "l l", "he ll", nlohmann::json::array({"hell", "o"}),
                                                  "Ġ w", "Ġw o"})}};
  j["added_tokens"] = nlohmann::json::array(
      {{{"id", 300}, {"content", "<eos>"}, {"special", true}, {"lstrip", false}, {"rstrip", false},
        {"normalized", false}, {"single_word", false}}});
  return j;
}

}  // namespace r1vk::text::testing
