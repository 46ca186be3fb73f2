// Stop strings over streamed text: found across chunk boundaries, never delivered, and only a
// possible prefix of one is ever held back.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include "text/stop_matcher.h"

namespace r1vk::text {
namespace {

std::string join(const std::vector<TextPiece>& pieces) {
  std::string s;
  for (const auto& p : pieces) s += p.text;
  return s;
}

// Feeds `chunks` (all answer text) one by one; returns what came out and whether it matched.
std::string run(StopMatcher& m, const std::vector<std::string>& chunks) {
  std::string out;
  for (const auto& c : chunks) out += join(m.feed({{TextKind::kAnswer, c}}));
  if (!m.matched()) out += join(m.finish());
  return out;
}

TEST_CASE("a stop string split over chunks ends the text before it") {
  StopMatcher m({"STOP"});
  CHECK(run(m, {"hello S", "T", "OP and more"}) == "hello ");
  CHECK(m.matched());
  CHECK(m.feed({{TextKind::kAnswer, "after"}}).empty());
}

TEST_CASE("only a possible prefix is held back") {
  StopMatcher m({"STOP"});
  CHECK(join(m.feed({{TextKind::kAnswer, "abc ST"}})) == "abc ");
  CHECK(join(m.feed({{TextKind::kAnswer, "X"}})) == "STX");  // no longer a prefix: released
  CHECK(join(m.finish()) == "");
  CHECK_FALSE(m.matched());
}

TEST_CASE("text that ends on a prefix comes out at finish") {
  StopMatcher m({"</answer>"});
  CHECK(run(m, {"42 </ans"}) == "42 </ans");
  CHECK_FALSE(m.matched());
}

TEST_CASE("the earliest of several stop strings wins") {
  StopMatcher m({"zz", "b"});
  CHECK(run(m, {"aaa", "bzz"}) == "aaa");
  CHECK(m.matched());
}

TEST_CASE("kinds are kept across the held-back tail") {
  StopMatcher m({"\n\n3:"});
  auto out = m.feed({{TextKind::kReasoning, "1:x\n"}, {TextKind::kReasoning, "\n"}});
  CHECK(join(out) == "1:x");
  out = m.feed({{TextKind::kReasoning, "2"}, {TextKind::kAnswer, "ans"}});
  REQUIRE(out.size() == 2);
  CHECK(out[0].kind == TextKind::kReasoning);
  CHECK(out[0].text == "\n\n2");
  CHECK(out[1].kind == TextKind::kAnswer);
  CHECK(out[1].text == "ans");
}

TEST_CASE("no stop strings: everything passes through at once") {
  StopMatcher m({"", ""});
  CHECK_FALSE(m.active());
  CHECK(join(m.feed({{TextKind::kAnswer, "abc"}})) == "abc");
}

TEST_CASE("a multi-byte stop string is matched on whole characters") {
  StopMatcher m({"\xE2\x80\x94" "end"});  // an em dash, then "end"
  CHECK(run(m, {"a \xE2\x80", "\x94", "en", "d!"}) == "a ");
  CHECK(m.matched());
}

}  // namespace
}  // namespace r1vk::text
