// Broken tokenizer files and bad input text give clear errors, never a crash or a silent result.
#include <doctest/doctest.h>

#include <filesystem>

#include "text/tiny_tokenizer.h"
#include "text/tokenizer.h"

namespace r1vk::text {
namespace {

using testing::tiny_tokenizer_json;

// Loads a tokenizer.json and expects failure whose message contains `needle`.
void expect_load_error(const nlohmann::json& j, const std::string& needle) {
  auto t = Tokenizer::from_json(j.dump());
  REQUIRE_FALSE(t.ok());
  INFO("message: " << t.error().message());
  CHECK(t.error().message().find(needle) != std::string::npos);
}

TEST_CASE("the tiny tokenizer loads and merges as its merges say") {
  auto t = Tokenizer::from_json(tiny_tokenizer_json().dump());
  REQUIRE_MESSAGE(t.ok(), (t.ok() ? "" : t.error().message()));
  auto ids = t->encode("hello world<eos>");
  REQUIRE(ids.ok());
  // "hello" merges fully; " world" -> "Ġwo" + r, l, d; <eos> is the added token.
  CHECK(*ids == std::vector<TokenId>{259, 261, 'r', 'l', 'd', 300});
  CHECK(*t->decode(*ids) == "hello world<eos>");
}

TEST_CASE("tokenizer.json that is not JSON or not an object") {
  for (const char* text : {"", "{", "not json", "[1, 2]", "42"}) {
    auto t = Tokenizer::from_json(text);
    REQUIRE_FALSE(t.ok());
    CHECK(t.error().message().find("tokenizer.json") != std::string::npos);
  }
}

TEST_CASE("missing or wrongly typed model fields") {
  auto j = tiny_tokenizer_json();
  j.erase("model");
  expect_load_error(j, "\"model\" is missing");

  j = tiny_tokenizer_json();
  j["model"]["type"] = "WordPiece";
  expect_load_error(j, "unsupported model type \"WordPiece\"");

  j = tiny_tokenizer_json();
  j["model"]["vocab"] = nlohmann::json::array();
  expect_load_error(j, "\"vocab\" missing or not an object");

  j = tiny_tokenizer_json();
  j["model"]["merges"] = "h e";
  expect_load_error(j, "\"merges\" missing or not an array");

  j = tiny_tokenizer_json();
  j["model"]["vocab"]["he"] = "256";
  expect_load_error(j, "vocab entry \"he\": id is not an integer");

  j = tiny_tokenizer_json();
  j["model"]["vocab"].erase("Ā");  // the byte 0x00
  expect_load_error(j, "no token for byte 0x00");
}

TEST_CASE("two vocab tokens sharing an id are rejected (found by fuzz_tokenizer)") {
  auto j = tiny_tokenizer_json();
  j["model"]["vocab"]["hello"] = 258;  // "hell" has id 258 too
  expect_load_error(j, "both have id 258");
}

TEST_CASE("an added token on an id the vocab gives to another token is rejected (found by fuzz_tokenizer)") {
  auto j = tiny_tokenizer_json();
  j["added_tokens"][0]["id"] = 97;  // the vocab's "a"
  expect_load_error(j, "added token \"<eos>\" has id 97, which already stands for \"a\"");
}

TEST_CASE("merges referring to unknown tokens or malformed") {
  auto j = tiny_tokenizer_json();
  j["model"]["merges"].push_back("x yz");
  expect_load_error(j, "token \"yz\" is not in the vocab");

  j = tiny_tokenizer_json();
  j["model"]["merges"].push_back("x y");
  expect_load_error(j, "merged token \"xy\" is not in the vocab");

  j = tiny_tokenizer_json();
  j["model"]["merges"].push_back("abc");
  expect_load_error(j, "expected two tokens separated by one space");

  j = tiny_tokenizer_json();
  j["model"]["merges"].push_back(nlohmann::json::array({"a"}));
  expect_load_error(j, "expected a pair of strings");

  j = tiny_tokenizer_json();
  j["model"]["merges"].push_back(7);
  expect_load_error(j, "merges[6]");
}

TEST_CASE("unknown or unsupported pipeline parts") {
  auto j = tiny_tokenizer_json();
  j["pre_tokenizer"]["pretokenizers"][0]["type"] = "Whitespacy";
  expect_load_error(j, "unsupported pre-tokenizer type \"Whitespacy\"");

  j = tiny_tokenizer_json();
  j["pre_tokenizer"]["pretokenizers"][0]["pattern"]["Regex"] = "([a-z]";
  expect_load_error(j, "bad regex /([a-z]/");

  j = tiny_tokenizer_json();
  j["pre_tokenizer"]["pretokenizers"][0]["behavior"] = "Sideways";
  expect_load_error(j, "unknown Split behavior \"Sideways\"");

  j = tiny_tokenizer_json();
  j["pre_tokenizer"] = nullptr;
  expect_load_error(j, "byte-level BPE only");

  j = tiny_tokenizer_json();
  j["pre_tokenizer"]["pretokenizers"].erase(1);  // no ByteLevel step
  expect_load_error(j, "no ByteLevel step");

  j = tiny_tokenizer_json();
  j["normalizer"] = {{"type", "Lowercase"}};
  expect_load_error(j, "unsupported normalizer type \"Lowercase\"");

  j = tiny_tokenizer_json();
  j["decoder"] = {{"type", "WordPiece"}};
  expect_load_error(j, "decoder: unsupported type \"WordPiece\"");

  j = tiny_tokenizer_json();
  j["added_tokens"][0].erase("content");
  expect_load_error(j, "added_tokens[0]: \"content\" missing");

  j = tiny_tokenizer_json();
  nlohmann::json nested = nullptr;
  for (int i = 0; i < 1000; ++i) nested = {{"type", "Sequence"}, {"normalizers", nlohmann::json::array({nested})}};
  j["normalizer"] = nested;
  expect_load_error(j, "nested too deeply");

  auto bad_config = Tokenizer::from_json(tiny_tokenizer_json().dump(), R"({"bos_token": "<nope>"})");
  REQUIRE_FALSE(bad_config.ok());
  CHECK(bad_config.error().message().find("bos_token \"<nope>\"") != std::string::npos);
}

TEST_CASE("invalid UTF-8 input text is an error naming the offset; unknown ids too") {
  auto t = Tokenizer::from_json(tiny_tokenizer_json().dump());
  REQUIRE(t.ok());
  for (std::string bad : {std::string("ab\xff"), std::string("ab\xc3"), std::string("ab\xed\xa0\x80"),
                          std::string("ab\xc0\xaf"), std::string("ab\xf4\x90\x80\x80")}) {
    auto ids = t->encode(bad);
    REQUIRE_FALSE(ids.ok());
    CHECK(ids.error().code() == ErrorCode::kInvalidArgument);
    CHECK(ids.error().message().find("not valid UTF-8 (byte offset 2)") != std::string::npos);
  }
  const std::vector<TokenId> unknown = {104, 299};
  auto text = t->decode(unknown);
  REQUIRE_FALSE(text.ok());
  CHECK(text.error().message().find("token id 299") != std::string::npos);
}

TEST_CASE("a checkpoint directory without tokenizer.json") {
  const auto dir = std::filesystem::temp_directory_path() / "r1vk_no_tokenizer_test";
  std::filesystem::create_directories(dir);
  auto t = Tokenizer::from_directory(dir);
  REQUIRE_FALSE(t.ok());
  CHECK(t.error().code() == ErrorCode::kNotFound);
  CHECK(t.error().message().find("no tokenizer.json") != std::string::npos);
  std::filesystem::remove_all(dir);
}

}  // namespace
}  // namespace r1vk::text
