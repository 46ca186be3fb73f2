// Tokenizer features the three real tokenizers do not all exercise: added-token flags, the
// normalized flag with NFC, Split behaviours, ignore_merges.
#include <doctest/doctest.h>

#include "text/pre_tokenizer.h"
#include "text/tiny_tokenizer.h"
#include "text/tokenizer.h"

namespace r1vk::text {
namespace {

using testing::tiny_tokenizer_json;

nlohmann::json added(uint32_t id, const std::string& content) {
  return {{"id", id}, {"content", content}, {"special", false}, {"lstrip", false}, {"rstrip", false},
          {"normalized", false}, {"single_word", false}};
}

Tokenizer load(const nlohmann::json& j) {
  auto t = Tokenizer::from_json(j.dump());
  REQUIRE_MESSAGE(t.ok(), (t.ok() ? "" : t.error().message()));
  return std::move(t).value();
}

std::vector<TokenId> encode(const Tokenizer& t, const std::string& text) {
  auto ids = t.encode(text);
  REQUIRE(ids.ok());
  return *ids;
}

TEST_CASE("lstrip and rstrip absorb whitespace next to an added token") {
  auto j = tiny_tokenizer_json();
  j["added_tokens"].push_back(added(301, "<m>"));
  CHECK(encode(load(j), "a <m> b") == std::vector<TokenId>{'a', ' ', 301, ' ', 'b'});
  j["added_tokens"][1]["lstrip"] = true;
  CHECK(encode(load(j), "a  <m> b") == std::vector<TokenId>{'a', 301, ' ', 'b'});
  j["added_tokens"][1]["lstrip"] = false;
  j["added_tokens"][1]["rstrip"] = true;
  CHECK(encode(load(j), "a <m>\n b") == std::vector<TokenId>{'a', ' ', 301, 'b'});
}

TEST_CASE("single_word tokens match only as whole words; longest token wins") {
  auto j = tiny_tokenizer_json();
  j["added_tokens"].push_back(added(301, "ab"));
  j["added_tokens"][1]["single_word"] = true;
  j["added_tokens"].push_back(added(302, "<e"));
  CHECK(encode(load(j), "ab cab") == std::vector<TokenId>{301, ' ', 'c', 'a', 'b'});
  // After another added token, the character before is that token's last one: 'e' of "<e".
  CHECK(encode(load(j), "<eab") == std::vector<TokenId>{302, 'a', 'b'});
  CHECK(encode(load(j), "<eos>ab") == std::vector<TokenId>{300, 301});
  // "<eos>" and "<e" both match at one place: the longer one is taken.
  CHECK(encode(load(j), "<eos><e") == std::vector<TokenId>{300, 302});
}

TEST_CASE("normalized added tokens match the NFC form, others the raw text") {
  auto j = tiny_tokenizer_json();
  j["normalizer"] = {{"type", "NFC"}};
  j["added_tokens"].push_back(added(301, "\xC3\xA9"));  // é, precomposed
  const std::string decomposed = "e\xCC\x81";           // e + combining acute
  const auto raw = encode(load(j), decomposed);
  CHECK(raw == std::vector<TokenId>{0xC3, 0xA9});  // normalised to é, then plain bytes
  j["added_tokens"][1]["normalized"] = true;
  CHECK(encode(load(j), decomposed) == std::vector<TokenId>{301});
}

TEST_CASE("ignore_merges takes a whole word from the vocab before merging") {
  auto j = tiny_tokenizer_json();
  j["model"]["vocab"]["hel"] = 290;
  CHECK(encode(load(j), "hel") == std::vector<TokenId>{256, 'l'});
  j["model"]["ignore_merges"] = true;
  CHECK(encode(load(j), "hel") == std::vector<TokenId>{290});
}

TEST_CASE("ByteLevel with use_regex splits words the GPT-2 way") {
  nlohmann::json spec = {{"type", "ByteLevel"}, {"add_prefix_space", false}, {"use_regex", true}};
  auto pre = PreTokenizer::from_json(spec);
  REQUIRE(pre.ok());
  const std::string text = "Hello world's  42x";
  std::vector<Span> pieces = {{0, text.size()}};
  REQUIRE(pre->split(text, pieces).ok());
  std::vector<std::string> words;
  for (const Span& s : pieces) words.push_back(text.substr(s.begin, s.end - s.begin));
  CHECK(words == std::vector<std::string>{"Hello", " world", "'s", " ", " 42", "x"});
  spec["add_prefix_space"] = true;
  CHECK_FALSE(PreTokenizer::from_json(spec).ok());
}

std::vector<std::string> split_with(const std::string& behavior, bool invert, const std::string& text) {
  nlohmann::json spec = {{"type", "Sequence"},
                         {"pretokenizers",
                          nlohmann::json::array({{{"type", "Split"},
                                                  {"pattern", {{"String", "-"}}},
                                                  {"behavior", behavior},
                                                  {"invert", invert}},
                                                 {{"type", "ByteLevel"}, {"add_prefix_space", false}}})}};
  auto pre = PreTokenizer::from_json(spec);
  REQUIRE_MESSAGE(pre.ok(), (pre.ok() ? "" : pre.error().message()));
  std::vector<Span> pieces = {{0, text.size()}};
  REQUIRE(pre->split(text, pieces).ok());
  std::vector<std::string> out;
  for (const Span& s : pieces) out.push_back(text.substr(s.begin, s.end - s.begin));
  return out;
}

TEST_CASE("Split behaviours cut around matches as Hugging Face defines them") {
  using V = std::vector<std::string>;
  CHECK(split_with("Isolated", false, "a-b--c") == V{"a", "-", "b", "-", "-", "c"});
  CHECK(split_with("Removed", false, "a-b--c") == V{"a", "b", "c"});
  CHECK(split_with("MergedWithPrevious", false, "a-b--c") == V{"a-", "b-", "-", "c"});
  CHECK(split_with("MergedWithNext", false, "a-b--c") == V{"a", "-b", "-", "-c"});
  CHECK(split_with("Contiguous", false, "a-b--c") == V{"a", "-", "b", "--", "c"});
  // Inverted, the gaps are the matches; adjacent "-" matches stay separate pieces.
  CHECK(split_with("Removed", true, "a-b--c") == V{"-", "-", "-"});
}

}  // namespace
}  // namespace r1vk::text
