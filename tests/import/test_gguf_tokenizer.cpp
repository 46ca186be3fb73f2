// The tokenizer rebuilt from GGUF metadata: each real tokenizer.json (DeepSeek-V3/R1, Qwen, Llama
// 3.1) is turned into tokenizer.ggml.* keys as llama.cpp's converter writes them, read back
// through the GGUF reader, and must reproduce every golden encoding of the original.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include <sstream>

#include "gguf_writer.h"
#include "import/gguf_file.h"
#include "import/gguf_tokenizer.h"
#include "text/tokenizer.h"
#include "text/tokenizer_test_data.h"

namespace r1vk {
namespace {

using text::testing::read_text_file;

text::Tokenizer tokenizer_from_gguf(const std::string& tokenizer_json, const std::string& config_json, const std::string& pre,
                                    GgufTokenizerJson* out = nullptr) {
  gen::GgufBuilder b;
  b.add_string("general.architecture", "llama");
  REQUIRE(gen::add_tokenizer_metadata(b, tokenizer_json, config_json, pre, 0).ok());
  const auto bytes = b.bytes();
  auto f = GgufFile::from_bytes(bytes, "tokenizer.gguf");
  REQUIRE_MESSAGE(f.ok(), f.error().message());
  auto j = gguf_tokenizer_json(f->metadata());
  REQUIRE_MESSAGE(j.ok(), j.error().message());
  if (out) *out = *j;
  auto tok = text::Tokenizer::from_json(j->tokenizer_json, j->tokenizer_config_json);
  REQUIRE_MESSAGE(tok.ok(), tok.error().message());
  return std::move(tok).value();
}

TEST_CASE("the tokenizer from GGUF metadata reproduces the golden encodings") {
  const std::pair<const char*, const char*> cases[] = {
      {"deepseek_r1", "deepseek-v3"}, {"qwen3", "qwen2"}, {"llama3_1", "llama-bpe"}};
  for (const auto& [name, pre] : cases) {
    CAPTURE(name);
    const auto dir = text::testing::tokenizer_dir(name);
    GgufTokenizerJson json;
    const text::Tokenizer tok = tokenizer_from_gguf(read_text_file(dir / "tokenizer.json"),
                                                    read_text_file(dir / "tokenizer_config.json"), pre, &json);
    std::istringstream lines(read_text_file(text::testing::source_data_dir(name) / "golden.jsonl"));
    int checked = 0;
    for (std::string line; std::getline(lines, line);) {
      if (line.empty()) continue;
      const auto j = nlohmann::json::parse(line);
      const std::string t = j["text"].get<std::string>();
      CAPTURE(t);
      auto ids = tok.encode(t);
      REQUIRE(ids.ok());
      CHECK(*ids == j["ids"].get<std::vector<text::TokenId>>());
      ++checked;
    }
    CHECK(checked > 10);
    const auto cfg = nlohmann::json::parse(json.tokenizer_config_json);
    CHECK(cfg.contains("eos_token"));
    if (std::string(name) != "llama3_1") CHECK(cfg.contains("chat_template"));
    CHECK(tok.eos_id().has_value());
  }
}

TEST_CASE("the deepseek-llm pre-tokenizer (V2, V2-Lite) builds and splits words, digits and CJK") {
  // A byte-level vocabulary: the 256 GPT-2 byte symbols, no merges.
  nlohmann::json vocab = nlohmann::json::object();
  int id = 0;
  auto add = [&](uint32_t cp) {
    std::string s;
    if (cp < 0x80) s += static_cast<char>(cp);
    else if (cp < 0x800) { s += static_cast<char>(0xC0 | (cp >> 6)); s += static_cast<char>(0x80 | (cp & 63)); }
    vocab[s] = id++;
  };
  // GPT-2 byte-to-unicode: printable bytes map to themselves, the rest to 256 + n.
  uint32_t n = 0;
  for (uint32_t b = 0; b < 256; ++b) {
    const bool printable = (b >= 33 && b <= 126) || (b >= 161 && b <= 172) || (b >= 174);
    add(printable ? b : 256 + n++);
  }
  const nlohmann::json tj = {{"model", {{"type", "BPE"}, {"vocab", vocab}, {"merges", nlohmann::json::array()}}},
                             {"added_tokens", nlohmann::json::array()}};
  const text::Tokenizer tok = tokenizer_from_gguf(tj.dump(), "", "deepseek-llm");
  auto ids = tok.encode("Hi 12\n中");
  REQUIRE_MESSAGE(ids.ok(), ids.error().message());
  auto back = tok.decode(*ids);
  REQUIRE(back.ok());
  CHECK(*back == "Hi 12\n中");
}

TEST_CASE("unsupported tokenizers are refused by name") {
  gen::GgufBuilder b;
  b.add_string("tokenizer.ggml.model", "llama");
  const std::vector<uint8_t> spm = b.bytes();  // from_bytes does not own the bytes
  auto f = GgufFile::from_bytes(spm, "spm.gguf");
  REQUIRE(f.ok());
  auto j = gguf_tokenizer_json(f->metadata());
  REQUIRE_FALSE(j.ok());
  CHECK(j.error().message().find("'llama' is not supported") != std::string::npos);
  gen::GgufBuilder c;
  c.add_string("tokenizer.ggml.model", "gpt2");
  c.add_string("tokenizer.ggml.pre", "falcon");
  c.add_strings("tokenizer.ggml.tokens", {"a"});
  c.add_strings("tokenizer.ggml.merges", {});
  const std::vector<uint8_t> falcon = c.bytes();
  auto g = GgufFile::from_bytes(falcon, "falcon.gguf");
  REQUIRE(g.ok());
  auto k = gguf_tokenizer_json(g->metadata());
  REQUIRE_FALSE(k.ok());
  CHECK(k.error().message().find("'falcon' is not supported") != std::string::npos);
}

}  // namespace
}  // namespace r1vk
