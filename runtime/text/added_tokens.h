// Added tokens (tokenizer.json "added_tokens"): strings such as <｜User｜> or <think> that are cut
// out of the text before normalisation and pre-tokenization and map straight to their id. The
// matcher finds the leftmost match, preferring the longest token there, and honours the
// single_word, lstrip and rstrip flags as Hugging Face tokenizers does.
#pragma once

#include <array>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/status.h"
#include "text/flat_map64.h"
#include "text/regex.h"

namespace r1vk::text {

struct AddedToken {
  uint32_t id = 0;
  std::string content;
  bool special = false;
  bool lstrip = false;
  bool rstrip = false;
  bool normalized = false;
  bool single_word = false;
};

// Parses the "added_tokens" array (null or absent means none).
Result<std::vector<AddedToken>> parse_added_tokens(const nlohmann::json& spec);

// One piece of text after cutting out added tokens: either plain text or one token.
struct TextSegment {
  Span span;             // in the text that was matched
  int64_t token_id = -1;  // the added token's id, or -1 for plain text
};

class AddedTokenMatcher {
 public:
  // Matches the tokens of `tokens` whose `normalized` flag equals `normalized`.
  static Result<AddedTokenMatcher> build(const std::vector<AddedToken>& tokens, bool normalized);

  bool empty() const { return tokens_.empty(); }
  // Cuts text[piece] into plain and token segments, in order, appending them to `out`. With
  // `skip_special`, tokens marked special are not matched (they stay plain text).
  void split(std::string_view text, Span piece, bool skip_special, std::vector<TextSegment>& out) const;

 private:
  struct Match {
    size_t begin;
    size_t end;
    size_t token;  // index into tokens_
  };
  // The next match in text[from, piece.end); single_word looks at the whole piece around it.
  std::optional<Match> find(std::string_view text, Span piece, size_t from, bool skip_special) const;
  bool is_word_char_before(std::string_view text, size_t pos, size_t lo) const;
  bool is_word_char_at(std::string_view text, size_t pos, size_t hi) const;

  std::vector<AddedToken> tokens_;
  // A byte trie: child of (node, byte) at key node << 8 | byte; terminal_[node] = token index.
  FlatMap64<uint32_t> children_;
  std::vector<int64_t> terminal_;
  std::array<bool, 256> starts_{};  // bytes that can begin a token: lets the scan skip ahead
  std::optional<Regex> word_char_;  // only built when some token is single_word
};

}  // namespace r1vk::text
