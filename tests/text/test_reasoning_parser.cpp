// The reasoning/answer split, fed in every possible chunking of the same reply.
#include <doctest/doctest.h>

#include "text/reasoning_parser.h"

namespace r1vk::text {
namespace {

struct Split {
  std::string reasoning;
  std::string answer;
};

Split run(bool opened, const std::vector<std::string>& chunks) {
  ReasoningParser parser(opened);
  Split s;
  auto take = [&s](const std::vector<TextPiece>& pieces) {
    for (const TextPiece& p : pieces) (p.kind == TextKind::kReasoning ? s.reasoning : s.answer) += p.text;
  };
  for (const std::string& c : chunks) take(parser.feed(c));
  take(parser.finish());
  return s;
}

// Every chunking of `text` into pieces of `size` bytes, for sizes 1..text.size().
void check_all_chunkings(bool opened, const std::string& text, const Split& want) {
  for (size_t size = 1; size <= text.size(); ++size) {
    std::vector<std::string> chunks;
    for (size_t i = 0; i < text.size(); i += size) chunks.push_back(text.substr(i, size));
    const Split got = run(opened, chunks);
    INFO("chunk size " << size);
    CHECK(got.reasoning == want.reasoning);
    CHECK(got.answer == want.answer);
  }
}

TEST_CASE("prompt opened <think>: reasoning up to </think>, answer after") {
  check_all_chunkings(true, "Let me see.\n</think>\n\nIt is 4.", {"Let me see.\n", "\n\nIt is 4."});
}

TEST_CASE("the model opens <think> itself, after optional whitespace") {
  check_all_chunkings(false, "\n<think>\nhmm</think>done", {"\nhmm", "done"});
}

TEST_CASE("no reasoning block: everything is answer") {
  check_all_chunkings(false, "Just <b>an</b> answer </thin", {"", "Just <b>an</b> answer </thin"});
}

TEST_CASE("a reply cut off inside reasoning stays reasoning, partial tag included") {
  check_all_chunkings(true, "still thinking </thi", {"still thinking </thi", ""});
}

TEST_CASE("text that only looks like a tag prefix is not swallowed") {
  check_all_chunkings(true, "a </b> c </think> d </think> e", {"a </b> c ", " d </think> e"});
}

TEST_CASE("pieces report their kind as they complete") {
  ReasoningParser parser(true);
  auto first = parser.feed("abc</th");
  REQUIRE(first.size() == 1);
  CHECK(first[0].kind == TextKind::kReasoning);
  CHECK(first[0].text == "abc");
  CHECK(parser.in_reasoning());
  auto second = parser.feed("ink>xyz");
  REQUIRE(second.size() == 1);
  CHECK(second[0].kind == TextKind::kAnswer);
  CHECK(second[0].text == "xyz");
  CHECK_FALSE(parser.in_reasoning());
}

}  // namespace
}  // namespace r1vk::text
