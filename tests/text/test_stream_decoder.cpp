// Streaming decode emits only complete UTF-8 characters and shows specials only on request.
#include <doctest/doctest.h>

#include "text/reasoning_parser.h"
#include "text/stream_decoder.h"
#include "text/tokenizer_test_data.h"
#include "text/utf8.h"

namespace r1vk::text {
namespace {

TEST_CASE("token by token, every emitted chunk is complete UTF-8 and the whole equals decode()") {
  const Tokenizer& tok = testing::tokenizer("llama3_1");
  // Emoji and CJK are split over several byte tokens by these vocabularies.
  const std::string text = "Hi 😀🎉 — 数学题 ok 🇫🇷 𝐀𝐁 done";
  auto ids = tok.encode(text);
  REQUIRE(ids.ok());
  StreamDecoder stream(tok);
  std::string joined;
  bool held_something = false;
  for (TokenId id : *ids) {
    auto chunk = stream.push(id);
    REQUIRE(chunk.ok());
    CHECK_FALSE(find_invalid_utf8(*chunk).has_value());
    CHECK(chunk->find("\xEF\xBF\xBD") == std::string::npos);
    held_something |= stream.pending_bytes() > 0;
    joined += *chunk;
  }
  joined += stream.finish();
  CHECK(held_something);  // the test input really splits characters across tokens
  CHECK(joined == text);
}

TEST_CASE("a partial character is held back until its last byte arrives") {
  const Tokenizer& tok = testing::tokenizer("deepseek_r1");
  // "😀" is F0 9F 98 80: feed it as single byte tokens.
  const std::string emoji = "😀";
  StreamDecoder stream(tok);
  std::string out;
  for (size_t i = 0; i < emoji.size(); ++i) {
    auto ids = tok.encode_bytes(emoji.substr(i, 1));
    REQUIRE(ids.ok());
    REQUIRE(ids->size() == 1);
    auto chunk = stream.push(ids->front());
    REQUIRE(chunk.ok());
    if (i + 1 < emoji.size()) {
      CHECK(chunk->empty());
      CHECK(stream.pending_bytes() == i + 1);
    }
    out += *chunk;
  }
  CHECK(out == emoji);
  CHECK(stream.finish().empty());

  // A stream that ends inside a character flushes it as U+FFFD; a byte that can never start a
  // character is replaced at once instead of being held.
  StreamDecoder cut(tok);
  REQUIRE(cut.push(tok.encode_bytes("\xF0")->front()).value().empty());
  CHECK(cut.finish() == "\xEF\xBF\xBD");
  StreamDecoder invalid(tok);
  CHECK(invalid.push(tok.encode_bytes("\xFF")->front()).value() == "\xEF\xBF\xBD");
}

TEST_CASE("special tokens are hidden unless asked for; ids the tokenizer lacks decode to nothing") {
  const Tokenizer& tok = testing::tokenizer("deepseek_r1");
  auto ids = tok.encode("<｜begin▁of▁sentence｜>Hi<｜end▁of▁sentence｜>");
  REQUIRE(ids.ok());
  for (bool show : {false, true}) {
    StreamDecoder stream(tok, show);
    std::string out;
    for (TokenId id : *ids) out += stream.push(id).value();
    out += stream.finish();
    CHECK(out == (show ? "<｜begin▁of▁sentence｜>Hi<｜end▁of▁sentence｜>" : "Hi"));
  }
  // Model vocabularies are padded past the tokenizer (R1: 129280 rows, 128815 ids). An id of the
  // padding (or a hole) yields "" and the stream goes on, as Hugging Face's decode skips it; a
  // character split around it still completes.
  StreamDecoder stream(tok);
  const std::string euro = "\xE2\x82\xAC";  // U+20AC, several byte tokens when split
  auto head = tok.encode_bytes(euro.substr(0, 1));
  auto tail = tok.encode_bytes(euro.substr(1));
  REQUIRE(head.ok());
  REQUIRE(tail.ok());
  std::string out;
  for (TokenId id : *head) out += stream.push(id).value();
  for (TokenId padded : {static_cast<TokenId>(tok.id_limit()), static_cast<TokenId>(tok.id_limit() + 5), static_cast<TokenId>(129279)}) {
    auto piece = stream.push(padded);
    REQUIRE(piece.ok());
    CHECK(piece->empty());
  }
  for (TokenId id : *tail) out += stream.push(id).value();
  out += stream.finish();
  CHECK(out == euro);
}

}  // namespace
}  // namespace r1vk::text

namespace r1vk::text {
namespace {

TEST_CASE("generated ids stream through the decoder into the reasoning split") {
  // What the CLI does with R1 output: decode token by token (specials hidden), split at </think>.
  const Tokenizer& tok = testing::tokenizer("deepseek_r1");
  auto ids = tok.encode("Two plus two 🤔 is four.\n</think>\n\nThe answer is 4.<｜end▁of▁sentence｜>");
  REQUIRE(ids.ok());
  StreamDecoder stream(tok);
  ReasoningParser parser(/*prompt_opened_think=*/true);
  std::string reasoning, answer;
  auto take = [&](const std::vector<TextPiece>& pieces) {
    for (const TextPiece& p : pieces) (p.kind == TextKind::kReasoning ? reasoning : answer) += p.text;
  };
  for (TokenId id : *ids) take(parser.feed(stream.push(id).value()));
  take(parser.feed(stream.finish()));
  take(parser.finish());
  CHECK(reasoning == "Two plus two 🤔 is four.\n");
  CHECK(answer == "\n\nThe answer is 4.");
}

}  // namespace
}  // namespace r1vk::text
