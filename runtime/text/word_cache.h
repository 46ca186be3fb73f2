// A fixed-size, direct-mapped cache of BPE results for short words. Words repeat heavily in
// real text; a slot holds the word and its ids inline, so lookups and stores never allocate and
// an old entry is simply overwritten. Guarded by a mutex: the tokenizer stays thread-safe.
#pragma once

#include <cstdint>
#include <cstring>
#include <memory>
#include <mutex>
#include <string_view>
#include <vector>

namespace r1vk::text {

class WordCache {
 public:
  static constexpr size_t kMaxWordBytes = 46;
  static constexpr size_t kMaxIds = 12;

  WordCache() : slots_(std::make_unique<Slot[]>(kSlots)) {}

  // Appends the cached ids of `word` to `out` and returns true on a hit.
  bool lookup(std::string_view word, size_t hash, std::vector<uint32_t>& out) const {
    std::lock_guard<std::mutex> lock(mutex_);
    const Slot& s = slots_[hash & (kSlots - 1)];
    if (s.length != word.size() || s.count == 0 || std::memcmp(s.bytes, word.data(), word.size()) != 0) return false;
    out.insert(out.end(), s.ids, s.ids + s.count);
    return true;
  }

  void store(std::string_view word, size_t hash, const uint32_t* ids, size_t count) {
    if (word.size() > kMaxWordBytes || count == 0 || count > kMaxIds) return;
    std::lock_guard<std::mutex> lock(mutex_);
    Slot& s = slots_[hash & (kSlots - 1)];
    s.length = static_cast<uint8_t>(word.size());
    s.count = static_cast<uint8_t>(count);
    std::memcpy(s.bytes, word.data(), word.size());
    std::memcpy(s.ids, ids, count * sizeof(uint32_t));
  }

 private:
  static constexpr size_t kSlots = 1u << 15;  // about 3 MB
  struct Slot {
    uint8_t length = 0;
    uint8_t count = 0;  // 0: empty
    char bytes[kMaxWordBytes] = {};
    uint32_t ids[kMaxIds] = {};
  };
  std::unique_ptr<Slot[]> slots_;
  mutable std::mutex mutex_;
};

}  // namespace r1vk::text
