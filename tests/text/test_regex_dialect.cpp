// The pre-tokenizer's patterns mean what they mean in Oniguruma, the regex engine of Hugging Face
// tokenizers (the reference), not what PCRE2 makes of them. The expected sets come from
// Oniguruma's own definitions (doc/RE, "Character types", Unicode case):
//   \s: U+0009-000D, U+0085 and General_Category Space_Separator, Line_Separator,
//       Paragraph_Separator. In Unicode 6.3+ (what Oniguruma 6.9 ships) that is exactly the
//       White_Space property of PropList.txt: U+0009-000D 0020 0085 00A0 1680 2000-200A 2028
//       2029 202F 205F 3000. U+180E MONGOLIAN VOWEL SEPARATOR left Zs for Cf in 6.3, so it is
//       not \s there, while PCRE2's \s still matches it.
//   \w: Letter | Mark | Number | Connector_Punctuation (PCRE2 10.42's \w has no Mark and no Pc).
#include <doctest/doctest.h>

#include <cstdio>
#include <set>

#include "text/regex.h"
#include "text/tokenizer.h"
#include "text/tokenizer_test_data.h"
#include "text/utf8.h"

namespace r1vk::text {
namespace {

std::string utf8(char32_t cp) {
  std::string s;
  if (cp < 0x80) {
    s += static_cast<char>(cp);
  } else if (cp < 0x800) {
    s += static_cast<char>(0xC0 | (cp >> 6));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else if (cp < 0x10000) {
    s += static_cast<char>(0xE0 | (cp >> 12));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  } else {
    s += static_cast<char>(0xF0 | (cp >> 18));
    s += static_cast<char>(0x80 | ((cp >> 12) & 0x3F));
    s += static_cast<char>(0x80 | ((cp >> 6) & 0x3F));
    s += static_cast<char>(0x80 | (cp & 0x3F));
  }
  return s;
}

bool matches_whole(const Regex& r, const std::string& text) {
  std::vector<Span> spans;
  REQUIRE(r.find_all(text, {0, text.size()}, spans).ok());
  return spans.size() == 1 && spans[0].begin == 0 && spans[0].end == text.size();
}

const std::set<char32_t> kWhiteSpace = {0x9,    0xA,    0xB,    0xC,    0xD,    0x20,   0x85,   0xA0,   0x1680,
                                        0x2000, 0x2001, 0x2002, 0x2003, 0x2004, 0x2005, 0x2006, 0x2007, 0x2008,
                                        0x2009, 0x200A, 0x2028, 0x2029, 0x202F, 0x205F, 0x3000};

TEST_CASE("\\s and \\S, in and out of a class, match Unicode White_Space for every code point") {
  auto s = Regex::compile(R"(\s)");
  auto not_s = Regex::compile(R"(\S)");
  auto s_class = Regex::compile(R"([\s])");
  auto not_s_class = Regex::compile(R"([^\s])");
  auto S_class = Regex::compile(R"([\S])");
  REQUIRE(s.ok());
  REQUIRE(not_s.ok());
  REQUIRE(s_class.ok());
  REQUIRE(not_s_class.ok());
  REQUIRE(S_class.ok());
  int wrong = 0;
  for (char32_t cp = 0; cp <= 0x10FFFF; ++cp) {
    if (cp >= 0xD800 && cp < 0xE000) continue;
    const std::string t = utf8(cp);
    const bool ws = kWhiteSpace.count(cp) != 0;
    // Only every 7th ordinary code point through the slower class forms, to keep the test short.
    const bool all = ws || cp < 0x3100 || cp % 7 == 0;
    if (matches_whole(*s, t) != ws || matches_whole(*not_s, t) == ws ||
        (all && (matches_whole(*s_class, t) != ws || matches_whole(*not_s_class, t) == ws ||
                 matches_whole(*S_class, t) == ws))) {
      if (++wrong <= 10) {
        char name[16];
        std::snprintf(name, sizeof name, "U+%04X", static_cast<unsigned>(cp));
        FAIL_CHECK("code point " << name << (ws ? " is" : " is not") << " White_Space but does not match so");
      }
    }
  }
  CHECK(wrong == 0);
}

TEST_CASE("\\w matches marks and connector punctuation as Oniguruma's does") {
  auto w = Regex::compile(R"(\w+)");
  auto not_w = Regex::compile(R"(\W)");
  REQUIRE(w.ok());
  REQUIRE(not_w.ok());
  CHECK(matches_whole(*w, "e\xCC\x81"));       // e + U+0301 COMBINING ACUTE ACCENT (Mn)
  CHECK(matches_whole(*w, "a\xE2\x80\xBF" "b"));  // U+203F UNDERTIE (Pc)
  CHECK(matches_whole(*w, "\xC2\xBD"));         // U+00BD VULGAR FRACTION ONE HALF (No)
  CHECK(matches_whole(*not_w, " "));
  CHECK_FALSE(matches_whole(*not_w, "\xCC\x81"));
}

TEST_CASE("a tokenizer pattern with \\s in a class, escapes and a literal ] is rewritten faithfully") {
  auto r = Regex::compile(R"([\]\s]+|\[x\]|[^\s\p{L}]+)");
  REQUIRE(r.ok());
  CHECK(r->source() == R"([\]\s]+|\[x\]|[^\s\p{L}]+)");
  CHECK(matches_whole(*r, "] \xE3\x80\x80"));  // "]", space, U+3000
  CHECK(matches_whole(*r, "[x]"));
  CHECK(matches_whole(*r, "12\xE1\xA0\x8E"));   // U+180E is not \s: [^\s\p{L}] takes it
}

// The R1 tokenizer's third Split pattern ends "...|\s*[\r\n]+|\s+(?!\S)|\s+". Derivation of the
// reference pieces of "a \u180E" with \s = White_Space: "a" (letters); at " " no alternative
// before \s+(?!\S) matches, and \s+(?!\S) fails because U+180E is \S, so \s+ takes " "; at U+180E
// nothing matches (it is Cf: not a letter, mark, punctuation, symbol or space), so it stays the
// unmatched piece "\u180E" (Isolated keeps gaps). With PCRE2's \s the pieces would be "a",
// " \u180E". Every piece is then BPE-encoded on its own, so the expected ids are the
// concatenation of the encodings of the three pieces, each of which contains no U+180E next to a
// space and so does not depend on the question.
TEST_CASE("U+180E next to spaces pre-tokenizes as Hugging Face's tokenizers do (R1 tokenizer)") {
  const Tokenizer& ds = testing::tokenizer("deepseek_r1");
  const std::string mvs = "\xE1\xA0\x8E";  // U+180E
  auto enc = [&](const std::string& t) {
    auto ids = ds.encode(t);
    REQUIRE(ids.ok());
    return *ids;
  };
  auto concat = [&](std::initializer_list<std::string> pieces) {
    std::vector<TokenId> out;
    for (const auto& p : pieces) {
      const auto ids = enc(p);
      out.insert(out.end(), ids.begin(), ids.end());
    }
    return out;
  };
  CHECK(enc("a " + mvs) == concat({"a", " ", mvs}));
  // "x  \u180Ey": "x" (letters). At the first space \s+(?!\S) first takes both spaces, but
  // U+180E after them is \S, so it backs off to one space, whose follower (a space) is not \S:
  // " ". At the second space \s+(?!\S) fails the same way and \s+ takes " ". U+180E then starts
  // [^\r\n\p{L}\p{P}\p{S}]?[\p{L}\p{M}]+ (it is none of the excluded classes) with "y":
  // "\u180Ey". PCRE2's \s would give "x", "  ", "\u180Ey".
  CHECK(enc("x  " + mvs + "y") == concat({"x", " ", " ", mvs + "y"}));
  // Every White_Space code point after a space is still grouped with it (\s+ at the end).
  for (char32_t cp : kWhiteSpace) {
    const std::string sp = utf8(cp);
    CHECK(enc("a " + sp) == concat({"a", " " + sp}));
  }
}

}  // namespace
}  // namespace r1vk::text
