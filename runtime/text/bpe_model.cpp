#include "text/bpe_model.h"

#include <algorithm>
#include <cstdio>

#include <nlohmann/json.hpp>

#include "text/byte_level.h"

namespace r1vk::text {
namespace {

// Ids beyond this are rejected: no real vocabulary comes near, and it bounds the id table.
constexpr uint64_t kMaxVocabId = 1u << 24;

Error corrupt(const std::string& what) { return make_error(ErrorCode::kCorruptData, "model: " + what); }

bool nonempty_string(const nlohmann::json& spec, const char* name) {
  return spec.contains(name) && spec[name].is_string() && !spec[name].get<std::string>().empty();
}

// Splits a merge entry into its two tokens: "a b" or ["a", "b"].
Result<std::pair<std::string, std::string>> merge_parts(const nlohmann::json& entry, size_t index) {
  const std::string where = "merges[" + std::to_string(index) + "]";
  if (entry.is_array()) {
    if (entry.size() != 2 || !entry[0].is_string() || !entry[1].is_string()) {
      return corrupt(where + ": expected a pair of strings");
    }
    return std::pair{entry[0].get<std::string>(), entry[1].get<std::string>()};
  }
  if (!entry.is_string()) return corrupt(where + ": expected \"a b\" or [\"a\", \"b\"]");
  const std::string s = entry.get<std::string>();
  const size_t space = s.find(' ');
  if (space == std::string::npos || s.find(' ', space + 1) != std::string::npos) {
    return corrupt(where + " \"" + s + "\": expected two tokens separated by one space");
  }
  return std::pair{s.substr(0, space), s.substr(space + 1)};
}

}  // namespace

Result<BpeModel> BpeModel::from_json(const nlohmann::json& spec) {
  if (!spec.is_object()) return corrupt("missing or not an object");
  if (spec.contains("type")) {
    if (!spec["type"].is_string()) return corrupt("\"type\" is not a string");
    const std::string type = spec["type"].get<std::string>();
    if (type != "BPE") {
      return make_error(ErrorCode::kUnsupported, "model: unsupported model type \"" + type + "\" (only BPE)");
    }
  }
  if (!spec.contains("vocab") || !spec["vocab"].is_object()) return corrupt("\"vocab\" missing or not an object");
  if (!spec.contains("merges") || !spec["merges"].is_array()) return corrupt("\"merges\" missing or not an array");
  if (nonempty_string(spec, "continuing_subword_prefix") || nonempty_string(spec, "end_of_word_suffix")) {
    return make_error(ErrorCode::kUnsupported, "model: continuing_subword_prefix / end_of_word_suffix are not supported");
  }
  if (spec.contains("dropout") && spec["dropout"].is_number() && spec["dropout"].get<double>() > 0.0) {
    return make_error(ErrorCode::kUnsupported, "model: BPE dropout is not supported");
  }
  BpeModel m;
  m.ignore_merges_ = spec.contains("ignore_merges") && spec["ignore_merges"].is_boolean() &&
                     spec["ignore_merges"].get<bool>();
  R1VK_TRY(m.load_vocab(spec["vocab"]));
  R1VK_TRY(m.load_merges(spec["merges"]));
  return m;
}

Status BpeModel::load_vocab(const nlohmann::json& vocab) {
  uint64_t limit = 0;
  for (const auto& [token, id] : vocab.items()) {
    if (!id.is_number_unsigned() || id.get<uint64_t>() >= kMaxVocabId) {
      return corrupt("vocab entry \"" + token + "\": id is not an integer in [0, 2^24)");
    }
    limit = std::max(limit, id.get<uint64_t>() + 1);
  }
  id_to_token_.assign(limit, std::string());
  bytes_to_id_.reserve(vocab.size());
  // Two tokens sharing an id would encode one and decode as the other (found by fuzz_tokenizer).
  std::vector<bool> taken(limit, false);
  for (const auto& [token, id_json] : vocab.items()) {
    const auto id = static_cast<TokenId>(id_json.get<uint64_t>());
    if (taken[id]) {
      return corrupt("vocab entries \"" + id_to_token_[id] + "\" and \"" + token + "\" both have id " +
                     std::to_string(id));
    }
    taken[id] = true;
    id_to_token_[id] = token;
    // Entries outside the byte-level alphabet cannot come out of byte-level BPE; they stay
    // decodable by id but are not encodable.
    if (auto bytes = byte_level_to_bytes(token)) bytes_to_id_.emplace(std::move(*bytes), id);
  }
  for (unsigned b = 0; b < 256; ++b) {
    const auto it = bytes_to_id_.find(std::string_view(reinterpret_cast<const char*>(&b), 1));
    if (it == bytes_to_id_.end()) {
      char hex[8];
      std::snprintf(hex, sizeof hex, "0x%02X", b);
      return corrupt(std::string("vocab has no token for byte ") + hex +
                     "; a byte-level BPE vocab must cover all 256 bytes");
    }
    byte_ids_[b] = it->second;
  }
  return ok_status();
}

Status BpeModel::load_merges(const nlohmann::json& merges) {
  merges_.reserve(merges.size());
  for (size_t i = 0; i < merges.size(); ++i) {
    R1VK_ASSIGN_OR_RETURN(auto parts, merge_parts(merges[i], i));
    const std::string where = "merges[" + std::to_string(i) + "] \"" + parts.first + " " + parts.second + "\"";
    auto left = byte_level_to_bytes(parts.first);
    auto right = byte_level_to_bytes(parts.second);
    if (!left || !right) return corrupt(where + ": token outside the byte-level alphabet");
    const int64_t left_id = find_bytes(*left);
    const int64_t right_id = find_bytes(*right);
    const int64_t result_id = find_bytes(*left + *right);
    if (left_id < 0) return corrupt(where + ": token \"" + parts.first + "\" is not in the vocab");
    if (right_id < 0) return corrupt(where + ": token \"" + parts.second + "\" is not in the vocab");
    if (result_id < 0) return corrupt(where + ": merged token \"" + parts.first + parts.second + "\" is not in the vocab");
    const uint64_t key = (static_cast<uint64_t>(left_id) << 32) | static_cast<uint64_t>(right_id);
    // A repeated pair keeps its first (best) rank.
    merges_.insert(key, Merge{static_cast<uint32_t>(i), static_cast<TokenId>(result_id)});
  }
  return ok_status();
}

int64_t BpeModel::find_bytes(std::string_view bytes) const {
  const auto it = bytes_to_id_.find(bytes);
  return it == bytes_to_id_.end() ? -1 : static_cast<int64_t>(it->second);
}

void BpeModel::encode_word(std::string_view word, std::vector<TokenId>& out) const {
  if (word.size() == 1) {
    out.push_back(byte_ids_[static_cast<unsigned char>(word[0])]);
    return;
  }
  if (ignore_merges_) {
    if (const int64_t id = find_bytes(word); id >= 0) {
      out.push_back(static_cast<TokenId>(id));
      return;
    }
  }
  if (word.size() > WordCache::kMaxWordBytes) {
    merge_word(word, out);
    return;
  }
  const size_t hash = std::hash<std::string_view>{}(word);
  if (cache_->lookup(word, hash, out)) return;
  const size_t first = out.size();
  merge_word(word, out);
  cache_->store(word, hash, out.data() + first, out.size() - first);
}

uint32_t BpeModel::pair_rank(TokenId left, TokenId right, TokenId* result) const {
  const Merge* m = merges_.find((static_cast<uint64_t>(left) << 32) | right);
  if (!m) return kNoMerge;
  *result = m->result;
  return m->rank;
}

void BpeModel::merge_word(std::string_view word, std::vector<TokenId>& out) const {
  if (word.size() <= kShortWordBytes) merge_short_word(word, out);
  else merge_long_word(word, out);
}

// Short words: keep the rank of every adjacent pair in an array and merge the minimum, found by
// a linear scan. Each merge looks up only the two pairs it changed.
void BpeModel::merge_short_word(std::string_view word, std::vector<TokenId>& out) const {
  TokenId ids[kShortWordBytes];
  uint32_t ranks[kShortWordBytes];  // ranks[i]: pair (ids[i], ids[i + 1])
  TokenId results[kShortWordBytes];
  size_t n = word.size();
  for (size_t i = 0; i < n; ++i) ids[i] = byte_ids_[static_cast<unsigned char>(word[i])];
  for (size_t i = 0; i + 1 < n; ++i) ranks[i] = pair_rank(ids[i], ids[i + 1], &results[i]);
  while (n > 1) {
    size_t best = 0;
    for (size_t i = 1; i + 1 < n; ++i) {
      if (ranks[i] < ranks[best]) best = i;  // strict: the leftmost of equal ranks wins
    }
    if (ranks[best] == kNoMerge) break;
    ids[best] = results[best];
    for (size_t i = best + 1; i + 1 < n; ++i) {
      ids[i] = ids[i + 1];
      ranks[i] = ranks[i + 1];
      results[i] = results[i + 1];
    }
    --n;
    if (best > 0) ranks[best - 1] = pair_rank(ids[best - 1], ids[best], &results[best - 1]);
    if (best + 1 < n) ranks[best] = pair_rank(ids[best], ids[best + 1], &results[best]);
  }
  out.insert(out.end(), ids, ids + n);
}

// Long words: a heap of candidate merges ordered by (rank, position) over a linked list of
// symbols, O(n log n); stale candidates are skipped when popped.
void BpeModel::merge_long_word(std::string_view word, std::vector<TokenId>& out) const {
  struct Symbol {
    TokenId id;
    int prev;
    int next;
    bool alive;
  };
  struct Candidate {
    uint32_t rank;
    int pos;  // left symbol
    TokenId result;
    bool operator>(const Candidate& o) const { return rank != o.rank ? rank > o.rank : pos > o.pos; }
  };
  thread_local std::vector<Symbol> symbols;
  thread_local std::vector<Candidate> heap;
  symbols.clear();
  heap.clear();
  const int n = static_cast<int>(word.size());
  for (int i = 0; i < n; ++i) {
    symbols.push_back({byte_ids_[static_cast<unsigned char>(word[static_cast<size_t>(i)])], i - 1, i + 1 < n ? i + 1 : -1, true});
  }
  auto consider = [&](int left) {
    const int right = symbols[static_cast<size_t>(left)].next;
    if (right < 0) return;
    const uint64_t key = (static_cast<uint64_t>(symbols[static_cast<size_t>(left)].id) << 32) |
                         symbols[static_cast<size_t>(right)].id;
    if (const Merge* m = merges_.find(key)) {
      heap.push_back({m->rank, left, m->result});
      std::push_heap(heap.begin(), heap.end(), std::greater<>{});
    }
  };
  for (int i = 0; i + 1 < n; ++i) consider(i);
  while (!heap.empty()) {
    std::pop_heap(heap.begin(), heap.end(), std::greater<>{});
    const Candidate c = heap.back();
    heap.pop_back();
    Symbol& left = symbols[static_cast<size_t>(c.pos)];
    if (!left.alive || left.next < 0) continue;
    Symbol& right = symbols[static_cast<size_t>(left.next)];
    // Skip stale candidates: either side may have changed since this pair was queued.
    const uint64_t key = (static_cast<uint64_t>(left.id) << 32) | right.id;
    const Merge* m = merges_.find(key);
    if (!m || m->rank != c.rank) continue;
    left.id = m->result;
    right.alive = false;
    left.next = right.next;
    if (right.next >= 0) symbols[static_cast<size_t>(right.next)].prev = c.pos;
    if (left.prev >= 0) consider(left.prev);
    consider(c.pos);
  }
  for (int i = 0; i >= 0; i = symbols[static_cast<size_t>(i)].next) out.push_back(symbols[static_cast<size_t>(i)].id);
}

}  // namespace r1vk::text
