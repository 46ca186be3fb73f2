// Rewrites a tokenizer.json pattern, written for Oniguruma (the regex engine of Hugging Face
// tokenizers), so that PCRE2 gives every shorthand class the meaning Oniguruma gives it. PCRE2's
// own meanings differ: with PCRE2_UCP its \s also matches U+180E (MONGOLIAN VOWEL SEPARATOR, a
// format character since Unicode 6.3), and (PCRE2 10.42) its \w lacks marks and connector
// punctuation. Oniguruma's Unicode definitions (doc/RE):
//   \s = U+0009-000D, U+0085, Space_Separator, Line_Separator, Paragraph_Separator, which is
//        Unicode's White_Space property: U+0009-000D 0020 0085 00A0 1680 2000-200A 2028 2029
//        202F 205F 3000 (written out as code points, so PCRE2's Unicode tables do not matter);
//   \w = Letter | Mark | Number | Connector_Punctuation.
// \d (Decimal_Number) already agrees. \W inside a bracket class cannot be spelled as a union of
// properties and keeps PCRE2's meaning (no known tokenizer uses it).
#pragma once

#include <string>
#include <string_view>

namespace r1vk::text {

// The pattern with \s, \S, \w and \W (outside a class, and \s, \S, \w inside one) replaced by
// explicit classes. Everything else is copied unchanged, escapes included.
std::string oniguruma_to_pcre2(std::string_view pattern);

}  // namespace r1vk::text
