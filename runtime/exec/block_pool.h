// Host bookkeeping of the paged KV cache: which fixed-size blocks of the pool are free, who
// holds each one (reference counts: forked sequences share their prefix's blocks), and which
// full blocks hold which token prefix (prefix reuse). The device side is one pool buffer per
// cache layer and the per-step block table (shaders/step.glsl).
#pragma once

#include <cstdint>
#include <list>
#include <optional>
#include <span>
#include <unordered_map>
#include <vector>

#include "base/status.h"

namespace r1vk::exec {

class BlockPool {
 public:
  BlockPool(uint32_t blocks, uint32_t block_tokens);

  uint32_t block_tokens() const { return block_tokens_; }
  size_t total() const { return refs_.size(); }
  // Blocks allocate() can hand out: unused ones plus cached prefix blocks nobody holds.
  size_t available() const { return free_.size() + cached_.size(); }

  // A block with one reference. A cached prefix block nobody holds is evicted (least recently
  // released first) when no unused block is left. kOutOfRange when every block is held.
  Result<uint32_t> allocate();
  void retain(uint32_t block);
  // Drops one reference; at zero the block is unused again, or stays cached for prefix reuse
  // when it was published.
  void release(uint32_t block);
  uint32_t refs(uint32_t block) const { return refs_[block]; }

  // Prefix cache. A full block's key is the hash chain of the token blocks before it and its own
  // tokens; the tokens are kept and compared, so a hash collision can never reuse wrong keys.
  static uint64_t chain_hash(uint64_t parent, std::span<const int32_t> tokens);
  // Records that `block` holds `tokens` (block_tokens of them) after the prefix hashed `parent`.
  // A prefix already published elsewhere keeps its first block.
  void publish(uint32_t block, uint64_t parent, std::span<const int32_t> tokens);
  // Forgets what `block` holds (it is about to be overwritten).
  void unpublish(uint32_t block);
  bool published(uint32_t block) const { return entries_[block].published; }
  // The block holding `tokens` after prefix `parent`, with a new reference; nullopt if none.
  std::optional<uint32_t> lookup(uint64_t parent, std::span<const int32_t> tokens);

 private:
  struct Entry {
    bool published = false;
    uint64_t key = 0, parent = 0;
    std::vector<int32_t> tokens;
    std::list<uint32_t>::iterator lru;  // position in cached_ while refs == 0 and published
  };
  uint32_t block_tokens_;
  std::vector<uint32_t> refs_;
  std::vector<Entry> entries_;
  std::vector<uint32_t> free_;     // unused, not published
  std::list<uint32_t> cached_;     // published, refs == 0, least recently released first
  std::unordered_map<uint64_t, uint32_t> by_key_;
};

}  // namespace r1vk::exec
