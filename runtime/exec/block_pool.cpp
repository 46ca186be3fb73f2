#include "exec/block_pool.h"

#include <algorithm>
#include <string>

namespace r1vk::exec {

BlockPool::BlockPool(uint32_t blocks, uint32_t block_tokens) : block_tokens_(block_tokens), refs_(blocks, 0), entries_(blocks) {
  free_.reserve(blocks);
  for (uint32_t b = blocks; b-- > 0;) free_.push_back(b);  // hands out block 0 first
}

Result<uint32_t> BlockPool::allocate() {
  if (free_.empty() && !cached_.empty()) unpublish(cached_.front());  // evict: it moves to free_
  if (free_.empty()) {
    return make_error(ErrorCode::kOutOfRange, "KV cache full: all " + std::to_string(refs_.size()) + " blocks of " +
                                                  std::to_string(block_tokens_) + " tokens are in use");
  }
  const uint32_t b = free_.back();
  free_.pop_back();
  refs_[b] = 1;
  return b;
}

void BlockPool::retain(uint32_t b) {
  if (refs_[b] == 0 && entries_[b].published) cached_.erase(entries_[b].lru);
  ++refs_[b];
}

void BlockPool::release(uint32_t b) {
  if (refs_[b] == 0) return;
  if (--refs_[b] > 0) return;
  Entry& e = entries_[b];
  if (e.published) {
    e.lru = cached_.insert(cached_.end(), b);
  } else {
    free_.push_back(b);
  }
}

uint64_t BlockPool::chain_hash(uint64_t parent, std::span<const int32_t> tokens) {
  // FNV-1a over the parent hash and the token ids, finished with a 64-bit mix.
  uint64_t h = 1469598103934665603ull ^ parent;
  auto mix = [&](uint64_t v) {
    for (int i = 0; i < 8; ++i) {
      h ^= (v >> (8 * i)) & 0xff;
      h *= 1099511628211ull;
    }
  };
  mix(parent);
  for (int32_t t : tokens) mix(static_cast<uint32_t>(t));
  h ^= h >> 33;
  h *= 0xff51afd7ed558ccdull;
  h ^= h >> 33;
  return h;
}

void BlockPool::publish(uint32_t b, uint64_t parent, std::span<const int32_t> tokens) {
  Entry& e = entries_[b];
  if (e.published) return;
  const uint64_t key = chain_hash(parent, tokens);
  if (by_key_.count(key)) return;
  e.published = true;
  e.key = key;
  e.parent = parent;
  e.tokens.assign(tokens.begin(), tokens.end());
  by_key_[key] = b;
  if (refs_[b] == 0) e.lru = cached_.insert(cached_.end(), b);
}

void BlockPool::unpublish(uint32_t b) {
  Entry& e = entries_[b];
  if (!e.published) return;
  by_key_.erase(e.key);
  e.published = false;
  e.tokens.clear();
  if (refs_[b] == 0) {
    cached_.erase(e.lru);
    free_.push_back(b);
  }
}

std::optional<uint32_t> BlockPool::lookup(uint64_t parent, std::span<const int32_t> tokens) {
  auto it = by_key_.find(chain_hash(parent, tokens));
  if (it == by_key_.end()) return std::nullopt;
  const Entry& e = entries_[it->second];
  if (e.parent != parent || !std::equal(e.tokens.begin(), e.tokens.end(), tokens.begin(), tokens.end())) return std::nullopt;
  retain(it->second);
  return it->second;
}

}  // namespace r1vk::exec
