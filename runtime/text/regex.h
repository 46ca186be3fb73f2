// A compiled PCRE2 pattern (UTF + Unicode properties, JIT-compiled when available) that finds
// all non-overlapping matches in a piece of text. The Split pre-tokenizers' patterns are written
// for Oniguruma (Hugging Face tokenizers' engine): \p{L}, \p{N}, look-ahead and (?i:...) groups
// mean the same in PCRE2; the shorthand classes \s \S \w \W do not, and compile() rewrites them
// (regex_dialect.h).
#pragma once

#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace r1vk::text {

struct Span {
  size_t begin = 0;
  size_t end = 0;
};

class Regex {
 public:
  // `source` is the pattern as written in tokenizer.json (Oniguruma's dialect). Errors name the
  // pattern offset.
  static Result<Regex> compile(std::string_view source);
  // A pattern matching `literal` exactly (Split's {"String": ...} form).
  static Result<Regex> literal(std::string_view literal);

  // Appends to `out` every match in text[begin, end), left to right, matching the piece as if it
  // were the whole subject (so look-ahead stops at `end`). Text must be valid UTF-8.
  Status find_all(std::string_view text, Span piece, std::vector<Span>& out) const;

  const std::string& source() const { return source_; }

 private:
  static Result<Regex> build(std::string_view source, uint32_t extra_options);

  struct State;
  std::shared_ptr<const State> state_;  // compiled code is immutable; match data is per call
  std::string source_;
};

}  // namespace r1vk::text
