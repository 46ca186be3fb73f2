#include "text/added_tokens.h"

#include <algorithm>

#include <nlohmann/json.hpp>

#include "text/utf8.h"

namespace r1vk::text {
namespace {

Error corrupt(const std::string& what) { return make_error(ErrorCode::kCorruptData, "added_tokens" + what); }

bool flag(const nlohmann::json& spec, const char* name) {
  return spec.contains(name) && spec[name].is_boolean() && spec[name].get<bool>();
}

}  // namespace

Result<std::vector<AddedToken>> parse_added_tokens(const nlohmann::json& spec) {
  std::vector<AddedToken> out;
  if (spec.is_null()) return out;
  if (!spec.is_array()) return corrupt(": not an array");
  for (size_t i = 0; i < spec.size(); ++i) {
    const auto& t = spec[i];
    // Built by appending: "[" + std::to_string(i) trips GCC 12's -Wrestrict false positive at -O3.
    std::string where = "[";
    where += std::to_string(i);
    where += "]";
    if (!t.is_object()) return corrupt(where + ": not an object");
    if (!t.contains("id") || !t["id"].is_number_unsigned() || t["id"].get<uint64_t>() >= (1u << 24)) {
      return corrupt(where + ": \"id\" missing or not an integer in [0, 2^24)");
    }
    if (!t.contains("content") || !t["content"].is_string() || t["content"].get<std::string>().empty()) {
      return corrupt(where + ": \"content\" missing or not a non-empty string");
    }
    AddedToken a;
    a.id = static_cast<uint32_t>(t["id"].get<uint64_t>());
    a.content = t["content"].get<std::string>();
    a.special = flag(t, "special");
    a.lstrip = flag(t, "lstrip");
    a.rstrip = flag(t, "rstrip");
    a.normalized = flag(t, "normalized");
    a.single_word = flag(t, "single_word");
    out.push_back(std::move(a));
  }
  return out;
}

Result<AddedTokenMatcher> AddedTokenMatcher::build(const std::vector<AddedToken>& tokens, bool normalized) {
  AddedTokenMatcher m;
  m.terminal_.push_back(-1);  // root
  for (const AddedToken& t : tokens) {
    if (t.normalized != normalized) continue;
    const size_t index = m.tokens_.size();
    m.tokens_.push_back(t);
    uint32_t node = 0;
    for (char c : t.content) {
      const uint64_t key = (static_cast<uint64_t>(node) << 8) | static_cast<unsigned char>(c);
      if (const uint32_t* child = m.children_.find(key)) {
        node = *child;
      } else {
        const auto created = static_cast<uint32_t>(m.terminal_.size());
        m.terminal_.push_back(-1);
        m.children_.insert(key, created);
        node = created;
      }
    }
    // The same content twice: the first entry wins, as in a vocabulary keyed by content.
    if (m.terminal_[node] < 0) m.terminal_[node] = static_cast<int64_t>(index);
    m.starts_[static_cast<unsigned char>(t.content[0])] = true;
    if (t.single_word && !m.word_char_) {
      R1VK_ASSIGN_OR_RETURN(Regex r, Regex::compile(R"(\w)"));
      m.word_char_ = std::move(r);
    }
  }
  return m;
}

std::optional<AddedTokenMatcher::Match> AddedTokenMatcher::find(std::string_view text, Span piece,
                                                                size_t from, bool skip_special) const {
  const size_t end = piece.end;
  for (size_t pos = from; pos < end; ++pos) {
    if (!starts_[static_cast<unsigned char>(text[pos])]) continue;
    uint32_t node = 0;
    int64_t best = -1;
    size_t best_end = 0;
    for (size_t i = pos; i < end; ++i) {
      const uint64_t key = (static_cast<uint64_t>(node) << 8) | static_cast<unsigned char>(text[i]);
      const uint32_t* child = children_.find(key);
      if (!child) break;
      node = *child;
      if (terminal_[node] >= 0) {
        best = terminal_[node];
        best_end = i + 1;
      }
    }
    if (best < 0) continue;
    const AddedToken& t = tokens_[static_cast<size_t>(best)];
    if (skip_special && t.special) continue;
    if (t.single_word && (is_word_char_before(text, pos, piece.begin) || is_word_char_at(text, best_end, end))) continue;
    return Match{pos, best_end, static_cast<size_t>(best)};
  }
  return std::nullopt;
}

bool AddedTokenMatcher::is_word_char_before(std::string_view text, size_t pos, size_t lo) const {
  if (pos <= lo) return false;
  size_t start = 0;
  decode_utf8_before(text, pos, &start);
  std::vector<Span> m;
  return word_char_->find_all(text, {start, pos}, m).ok() && !m.empty();
}

bool AddedTokenMatcher::is_word_char_at(std::string_view text, size_t pos, size_t hi) const {
  if (pos >= hi) return false;
  size_t next = pos;
  decode_utf8(text, next);
  std::vector<Span> m;
  return word_char_->find_all(text, {pos, next}, m).ok() && !m.empty();
}

void AddedTokenMatcher::split(std::string_view text, Span piece, bool skip_special,
                              std::vector<TextSegment>& out) const {
  size_t done = piece.begin;  // end of the previous token: lstrip never reaches before it
  size_t from = piece.begin;
  while (auto m = find(text, piece, from, skip_special)) {
    const AddedToken& t = tokens_[m->token];
    size_t begin = m->begin, end = m->end;
    if (t.lstrip) {
      while (begin > done) {
        size_t prev = 0;
        if (!is_unicode_whitespace(decode_utf8_before(text, begin, &prev))) break;
        begin = prev;
      }
    }
    if (t.rstrip) {
      while (end < piece.end) {
        size_t next = end;
        if (!is_unicode_whitespace(decode_utf8(text, next))) break;
        end = next;
      }
    }
    if (begin > done) out.push_back({{done, begin}, -1});
    out.push_back({{begin, end}, static_cast<int64_t>(t.id)});
    done = from = end;
  }
  if (done < piece.end) out.push_back({{done, piece.end}, -1});
}

}  // namespace r1vk::text
