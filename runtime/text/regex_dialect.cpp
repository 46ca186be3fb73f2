#include "text/regex_dialect.h"

namespace r1vk::text {
namespace {

// Unicode White_Space, as class items.
constexpr std::string_view kSpaceItems =
    R"(\x{9}-\x{D}\x{20}\x{85}\x{A0}\x{1680}\x{2000}-\x{200A}\x{2028}\x{2029}\x{202F}\x{205F}\x{3000})";
// Its complement, as class items (for \S inside a class, where no negation is available).
constexpr std::string_view kNonSpaceItems =
    R"(\x{0}-\x{8}\x{E}-\x{1F}\x{21}-\x{84}\x{86}-\x{9F}\x{A1}-\x{167F}\x{1681}-\x{1FFF}\x{200B}-\x{2027})"
    R"(\x{202A}-\x{202E}\x{2030}-\x{205E}\x{2060}-\x{2FFF}\x{3001}-\x{10FFFF})";
constexpr std::string_view kWordItems = R"(\p{L}\p{M}\p{N}\p{Pc})";

}  // namespace

std::string oniguruma_to_pcre2(std::string_view pattern) {
  std::string out;
  out.reserve(pattern.size() + 64);
  bool in_class = false;
  bool class_start = false;  // just after "[" or "[^": a "]" here is a literal
  for (size_t i = 0; i < pattern.size(); ++i) {
    const char c = pattern[i];
    if (c == '\\' && i + 1 < pattern.size()) {
      const char e = pattern[++i];
      class_start = false;
      if (in_class) {
        if (e == 's') out += kSpaceItems;
        else if (e == 'S') out += kNonSpaceItems;
        else if (e == 'w') out += kWordItems;
        else (out += '\\') += e;
      } else {
        if (e == 's') (out += '[') += kSpaceItems, out += ']';
        else if (e == 'S') (out += "[^") += kSpaceItems, out += ']';
        else if (e == 'w') (out += '[') += kWordItems, out += ']';
        else if (e == 'W') (out += "[^") += kWordItems, out += ']';
        else (out += '\\') += e;
      }
      continue;
    }
    if (!in_class && c == '[') {
      in_class = true;
      class_start = true;
      out += c;
      if (i + 1 < pattern.size() && pattern[i + 1] == '^') out += pattern[++i];
      continue;
    }
    if (in_class) {
      if (c == '[' && i + 1 < pattern.size() && pattern[i + 1] == ':') {  // [:alpha:] inside a class
        const size_t close = pattern.find(":]", i + 2);
        if (close != std::string_view::npos) {
          out.append(pattern.substr(i, close + 2 - i));
          i = close + 1;
          class_start = false;
          continue;
        }
      }
      if (c == ']' && !class_start) in_class = false;
      class_start = false;
    }
    out += c;
  }
  return out;
}

}  // namespace r1vk::text
