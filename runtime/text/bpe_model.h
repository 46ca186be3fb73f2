// The BPE model of tokenizer.json ("model": {"type": "BPE", "vocab", "merges"}), held in raw
// bytes: vocab entries are converted from the byte-level alphabet once at load. Encoding a word
// merges the lowest-ranked adjacent pair first (leftmost on ties) with a heap, so long words cost
// O(n log n); results for short words are cached.
// Movable, not copyable; thread-safe once built.
#pragma once

#include <array>
#include <cstdint>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/status.h"
#include "text/flat_map64.h"
#include "text/token_id.h"
#include "text/word_cache.h"

namespace r1vk::text {

// std::string keys looked up by std::string_view without a copy.
struct StringHash {
  using is_transparent = void;
  size_t operator()(std::string_view s) const { return std::hash<std::string_view>{}(s); }
};
using BytesToId = std::unordered_map<std::string, TokenId, StringHash, std::equal_to<>>;

class BpeModel {
 public:
  // `spec` is the JSON value of "model".
  static Result<BpeModel> from_json(const nlohmann::json& spec);

  // Appends the ids of one pre-tokenized word (raw bytes, non-empty). Thread-safe.
  void encode_word(std::string_view word, std::vector<TokenId>& out) const;

  // One past the largest vocab id.
  size_t id_limit() const { return id_to_token_.size(); }
  // The token as written in tokenizer.json (byte-level alphabet); empty for unused ids.
  const std::string& token_text(TokenId id) const { return id_to_token_[id]; }
  // The id of a token given in raw bytes, or -1.
  int64_t find_bytes(std::string_view bytes) const;

 private:
  struct Merge {
    uint32_t rank = 0;
    TokenId result = 0;
  };

  Status load_vocab(const nlohmann::json& vocab);
  Status load_merges(const nlohmann::json& merges);
  static constexpr uint32_t kNoMerge = UINT32_MAX;
  static constexpr size_t kShortWordBytes = 48;
  // The rank of merging (left, right) and its result, or kNoMerge.
  uint32_t pair_rank(TokenId left, TokenId right, TokenId* result) const;
  void merge_word(std::string_view word, std::vector<TokenId>& out) const;
  void merge_short_word(std::string_view word, std::vector<TokenId>& out) const;
  void merge_long_word(std::string_view word, std::vector<TokenId>& out) const;

  BytesToId bytes_to_id_;
  std::vector<std::string> id_to_token_;
  std::array<TokenId, 256> byte_ids_{};
  FlatMap64<Merge> merges_;  // key: left id << 32 | right id
  bool ignore_merges_ = false;

  std::unique_ptr<WordCache> cache_ = std::make_unique<WordCache>();
};

}  // namespace r1vk::text
