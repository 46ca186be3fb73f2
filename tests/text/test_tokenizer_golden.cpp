// Every line of the three golden.jsonl files (produced by the reference implementation) must
// encode to exactly its ids and decode back to its "decoded" text.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <sstream>

#include "text/tokenizer_test_data.h"

namespace r1vk::text {
namespace {

struct GoldenCase {
  std::string text;
  std::vector<TokenId> ids;
  std::string decoded;
};

std::vector<GoldenCase> load_golden(const std::string& name) {
  std::istringstream lines(testing::read_text_file(testing::source_data_dir(name) / "golden.jsonl"));
  std::vector<GoldenCase> cases;
  for (std::string line; std::getline(lines, line);) {
    if (line.empty()) continue;
    const auto j = nlohmann::json::parse(line);
    cases.push_back({j["text"].get<std::string>(), j["ids"].get<std::vector<TokenId>>(),
                     j["decoded"].get<std::string>()});
  }
  return cases;
}

void check_golden(const std::string& name) {
  const Tokenizer& tok = testing::tokenizer(name);
  const auto cases = load_golden(name);
  REQUIRE(cases.size() >= 200);
  size_t encode_failures = 0, decode_failures = 0;
  for (const GoldenCase& c : cases) {
    auto ids = tok.encode(c.text);
    REQUIRE_MESSAGE(ids.ok(), c.text);
    if (*ids != c.ids) {
      ++encode_failures;
      std::ostringstream got;
      for (TokenId id : *ids) got << id << ' ';
      FAIL_CHECK(name << ": encode mismatch for " << nlohmann::json(c.text).dump() << "\n  got " << got.str());
    }
    auto decoded = tok.decode(c.ids);
    REQUIRE(decoded.ok());
    if (*decoded != c.decoded) {
      ++decode_failures;
      FAIL_CHECK(name << ": decode mismatch: got " << nlohmann::json(*decoded).dump() << " want "
                      << nlohmann::json(c.decoded).dump());
    }
  }
  CHECK(encode_failures == 0);
  CHECK(decode_failures == 0);
}

TEST_CASE("deepseek_r1 tokenizer matches every golden encoding and decoding") { check_golden("deepseek_r1"); }
TEST_CASE("qwen3 tokenizer matches every golden encoding and decoding") { check_golden("qwen3"); }
TEST_CASE("llama3_1 tokenizer matches every golden encoding and decoding") { check_golden("llama3_1"); }

TEST_CASE("BOS and EOS come from the tokenizer files") {
  const Tokenizer& ds = testing::tokenizer("deepseek_r1");
  REQUIRE(ds.bos_id().has_value());
  CHECK(*ds.bos_id() == *ds.find_token("<｜begin▁of▁sentence｜>"));
  CHECK(*ds.eos_id() == *ds.find_token("<｜end▁of▁sentence｜>"));
  // Llama 3 names BOS in tokenizer_config.json and in its TemplateProcessing post-processor.
  const Tokenizer& llama = testing::tokenizer("llama3_1");
  CHECK(llama.bos_id() == llama.find_token("<|begin_of_text|>"));
  // Qwen has no BOS: asking for one is an error, not a silent no-op.
  const Tokenizer& qwen = testing::tokenizer("qwen3");
  CHECK_FALSE(qwen.bos_id().has_value());
  CHECK_FALSE(qwen.encode("hi", {.add_bos = true, .recognize_special = true}).ok());

  auto with_bos = ds.encode("Hello", {.add_bos = true, .recognize_special = true});
  auto without = ds.encode("Hello");
  REQUIRE(with_bos.ok());
  REQUIRE(without.ok());
  REQUIRE(with_bos->size() == without->size() + 1);
  CHECK(with_bos->front() == *ds.bos_id());
}

// What Hugging Face's tokenizer(text) adds, from each tokenizer's own files: R1's
// tokenizer_config.json says add_bos_token: true, add_eos_token: false (LlamaTokenizerFast
// rebuilds its post-processor from them); Qwen3's says add_bos_token: false and it has no BOS;
// Llama 3.1's config names neither, and its tokenizer.json's TemplateProcessing puts
// <|begin_of_text|> first.
TEST_CASE("add_special_tokens adds what tokenizer_config.json (or the template) asks for") {
  const EncodeOptions specials{.add_bos = false, .recognize_special = true, .add_special_tokens = true};
  const Tokenizer& ds = testing::tokenizer("deepseek_r1");
  CHECK(ds.adds_bos());
  CHECK_FALSE(ds.adds_eos());
  auto plain = ds.encode("Hello");
  auto with = ds.encode("Hello", specials);
  REQUIRE(plain.ok());
  REQUIRE(with.ok());
  CHECK(*with == std::vector<TokenId>{*ds.find_token("<｜begin▁of▁sentence｜>"), plain->at(0)});

  const Tokenizer& qwen = testing::tokenizer("qwen3");
  CHECK_FALSE(qwen.adds_bos());
  CHECK(qwen.encode("Hello", specials).value() == qwen.encode("Hello").value());

  const Tokenizer& llama = testing::tokenizer("llama3_1");
  CHECK(llama.adds_bos());
  CHECK(llama.encode("Hello", specials).value().front() == *llama.find_token("<|begin_of_text|>"));

  // add_eos_token: true appends EOS.
  auto cfg = testing::read_text_file(testing::tokenizer_dir("deepseek_r1") / "tokenizer_config.json");
  const auto at = cfg.find("\"add_eos_token\": false");
  REQUIRE(at != std::string::npos);
  cfg.replace(at, std::string("\"add_eos_token\": false").size(), "\"add_eos_token\": true");
  auto eos_too = Tokenizer::from_json(testing::read_text_file(testing::tokenizer_dir("deepseek_r1") / "tokenizer.json"), cfg);
  REQUIRE(eos_too.ok());
  auto both = eos_too->encode("Hello", specials);
  REQUIRE(both.ok());
  CHECK(both->size() == 3);
  CHECK(both->back() == *ds.eos_id());
}

TEST_CASE("special tokens in the text can be treated as plain text") {
  const Tokenizer& ds = testing::tokenizer("deepseek_r1");
  const std::string text = "a<｜end▁of▁sentence｜><think>";
  auto parsed = ds.encode(text);
  REQUIRE(parsed.ok());
  CHECK(*parsed == std::vector<TokenId>{*ds.encode("a").value().begin(), *ds.eos_id(), *ds.find_token("<think>")});
  auto plain = ds.encode(text, {.add_bos = false, .recognize_special = false});
  REQUIRE(plain.ok());
  CHECK(plain->size() > 3);  // EOS spelled out in ordinary tokens
  CHECK(std::find(plain->begin(), plain->end(), *ds.eos_id()) == plain->end());
  CHECK(plain->back() == *ds.find_token("<think>"));  // not special: still matched
  CHECK(*ds.decode(*plain) == text);
}

TEST_CASE("decode can hide special tokens and clean up spaces on request") {
  const Tokenizer& ds = testing::tokenizer("deepseek_r1");
  auto ids = ds.encode("<｜begin▁of▁sentence｜>Hi<think>x</think>");
  REQUIRE(ids.ok());
  CHECK(*ds.decode(*ids) == "<｜begin▁of▁sentence｜>Hi<think>x</think>");
  // <think> is an added token but not a special one in R1's tokenizer, so it stays.
  CHECK(*ds.decode(*ids, {.skip_special = true, .clean_up_spaces = std::nullopt}) == "Hi<think>x</think>");

  auto spaced = ds.encode("a , b . it 's");
  REQUIRE(spaced.ok());
  CHECK(*ds.decode(*spaced) == "a , b . it 's");
  CHECK(*ds.decode(*spaced, {.skip_special = false, .clean_up_spaces = true}) == "a, b. it's");
  CHECK(clean_up_tokenization_spaces("do n't ' x ' 'll") == "don't'x''ll");
}

}  // namespace
}  // namespace r1vk::text
