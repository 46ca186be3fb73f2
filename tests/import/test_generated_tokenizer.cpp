#include <doctest/doctest.h>

#include <set>

#include "import/config_parser.h"
#include "import/import_test_util.h"
#include "tokenizer_writer.h"

namespace r1vk {
namespace {

TEST_CASE("GPT-2 byte alphabet: printable bytes stand for themselves, the rest map above U+0100") {
  CHECK(gen::byte_to_unicode('a') == "a");
  CHECK(gen::byte_to_unicode(' ') == "\xC4\xA0");   // U+0120 'Ġ'
  CHECK(gen::byte_to_unicode('\n') == "\xC4\x8A");  // U+010A 'Ċ'
  CHECK(gen::byte_to_unicode(0xAD) == "\xC5\x83");  // U+0143: soft hyphen is not printable
  std::set<std::string> all;
  for (int b = 0; b < 256; ++b) all.insert(gen::byte_to_unicode(static_cast<uint8_t>(b)));
  CHECK(all.size() == 256);
}

TEST_CASE("generated tokenizer.json: contiguous ids, merges over known tokens, R1 specials = config bos/eos") {
  testing::TempDir dir;
  testing::generate(dir.path(), testing::preset("tiny-r1"));
  auto tok = parse_json(testing::read_text(dir.path() / "tokenizer.json"), "tokenizer.json");
  REQUIRE(tok.ok());
  auto config = load_model_config((dir.path() / "config.json").string());
  REQUIRE(config.ok());
  const Json& vocab = (*tok)["model"]["vocab"];
  std::set<int64_t> ids;
  for (const auto& [token, id] : vocab.items()) ids.insert(id.get<int64_t>());
  REQUIRE(ids.size() == vocab.size());
  CHECK(*ids.begin() == 0);
  CHECK(*ids.rbegin() == static_cast<int64_t>(vocab.size()) - 1);
  CHECK(static_cast<int64_t>(vocab.size()) <= config->vocab_size);

  const Json& merges = (*tok)["model"]["merges"];
  CHECK(merges.size() > 100);
  for (const Json& m : merges) {
    const std::string text = m.get<std::string>();
    const size_t space = text.find(' ');
    REQUIRE(space != std::string::npos);
    const std::string a = text.substr(0, space);
    const std::string b = text.substr(space + 1);
    CHECK(vocab.contains(a));
    CHECK(vocab.contains(b));
    CHECK(vocab.contains(a + b));
  }
  CHECK(vocab.contains("\xC4\xA0the"));  // " the" is learnt from the sample

  CHECK(vocab[gen::kBosToken].get<int64_t>() == config->bos_token_id);
  CHECK(vocab[gen::kEosToken].get<int64_t>() == config->eos_token_id);
  const Json& added = (*tok)["added_tokens"];
  REQUIRE(added.size() == 6);
  for (const Json& t : added) CHECK(vocab[t["content"].get<std::string>()] == t["id"]);
  CHECK(added[4]["content"] == "<think>");
  CHECK(added[4]["special"] == false);

  auto tc = parse_json(testing::read_text(dir.path() / "tokenizer_config.json"), "tokenizer_config.json");
  REQUIRE(tc.ok());
  CHECK((*tc)["bos_token"] == gen::kBosToken);
  CHECK((*tc)["chat_template"].get<std::string>().find("<think>") != std::string::npos);
}

TEST_CASE("the tokenizer needs room for bytes and specials") {
  auto small = gen::make_tokenizer(261, 200, 1024);
  REQUIRE_FALSE(small.ok());
  CHECK(small.error().message() == "vocab_size 261 is below 262, the generated tokenizer's minimum");
  auto tight = gen::make_tokenizer(262, 200, 1024);
  REQUIRE(tight.ok());
  CHECK(tight->token_count == 262);
  CHECK(tight->eos_id == 257);
}

}  // namespace
}  // namespace r1vk
