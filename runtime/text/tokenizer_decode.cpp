// Tokenizer decoding: ids -> raw bytes (ByteLevel decoder) -> lossy UTF-8 -> optional clean-up.
#include <array>
#include <utility>

#include "text/tokenizer.h"
#include "text/utf8.h"

namespace r1vk::text {

Result<std::string> Tokenizer::decode_bytes(std::span<const TokenId> ids, bool skip_special) const {
  std::string out;
  for (size_t i = 0; i < ids.size(); ++i) {
    const TokenId id = ids[i];
    if (!is_valid_id(id)) {
      return make_error(ErrorCode::kInvalidArgument,
                        "decode: token id " + std::to_string(id) + " (position " + std::to_string(i) +
                            ") is not in the vocabulary");
    }
    if (skip_special && is_special_[id]) continue;
    out += id_bytes_[id];
  }
  return out;
}

Result<std::string> Tokenizer::decode(std::span<const TokenId> ids, const DecodeOptions& options) const {
  R1VK_ASSIGN_OR_RETURN(std::string bytes, decode_bytes(ids, options.skip_special));
  std::string text;
  text.reserve(bytes.size());
  append_utf8_lossy(text, bytes);
  if (options.clean_up_spaces.value_or(config_.clean_up_tokenization_spaces)) {
    text = clean_up_tokenization_spaces(std::move(text));
  }
  return text;
}

std::string clean_up_tokenization_spaces(std::string text) {
  // Applied one after another over the whole text, each replacing every occurrence.
  static const std::array<std::pair<std::string_view, std::string_view>, 10> kRules = {{
      {" .", "."}, {" ?", "?"}, {" !", "!"}, {" ,", ","}, {" ' ", "'"},
      {" n't", "n't"}, {" 'm", "'m"}, {" 's", "'s"}, {" 've", "'ve"}, {" 're", "'re"},
  }};
  for (const auto& [from, to] : kRules) {
    std::string next;
    next.reserve(text.size());
    size_t pos = 0;
    for (size_t hit; (hit = text.find(from, pos)) != std::string::npos; pos = hit + from.size()) {
      next.append(text, pos, hit - pos);
      next += to;
    }
    next.append(text, pos, std::string::npos);
    text = std::move(next);
  }
  return text;
}

}  // namespace r1vk::text
