#include "serve/fake_step_runner.h"

#include <thread>

namespace r1vk::serve {

Result<SeqId> FakeStepRunner::add_sequence(std::span<const int32_t>) {
  std::lock_guard lock(mutex_);
  if (seqs_.size() >= o_.max_batch) return make_error(ErrorCode::kOutOfMemory, "fake runner: no free sequence slot");
  const SeqId id = next_++;
  seqs_[id] = Seq{};
  return id;
}

void FakeStepRunner::free_sequence(SeqId seq) {
  std::lock_guard lock(mutex_);
  seqs_.erase(seq);
}

int64_t FakeStepRunner::position(SeqId seq) const {
  std::lock_guard lock(mutex_);
  auto it = seqs_.find(seq);
  return it == seqs_.end() ? 0 : static_cast<int64_t>(it->second.cache.size());
}

size_t FakeStepRunner::used_blocks_locked() const {
  size_t used = 0;
  for (const auto& [id, s] : seqs_) used += (s.cache.size() + o_.block_tokens - 1) / o_.block_tokens;
  return used;
}

size_t FakeStepRunner::free_blocks() const {
  std::lock_guard lock(mutex_);
  return o_.total_blocks - used_blocks_locked();
}

uint32_t FakeStepRunner::step_rows(uint32_t rows) const {
  for (uint32_t b : o_.step_buckets) {
    if (rows <= b) return b;
  }
  return rows;
}

Result<std::vector<int32_t>> FakeStepRunner::step(std::span<const StepEntry> entries) {
  if (o_.step_delay.count() > 0) std::this_thread::sleep_for(o_.step_delay);
  std::lock_guard lock(mutex_);
  if (o_.lose_device_at_step >= 0 && static_cast<int64_t>(steps_.size() + failed_steps_) >= o_.lose_device_at_step) {
    ++failed_steps_;
    return make_error(ErrorCode::kVulkan, "vkWaitSemaphores failed: VK_ERROR_DEVICE_LOST (fake runner)");
  }
  StepRecord rec;
  rec.entries = entries.size();
  size_t new_blocks = 0;
  for (const auto& e : entries) {
    auto it = seqs_.find(e.seq);
    if (it == seqs_.end()) return make_error(ErrorCode::kInvalidArgument, "fake runner: unknown sequence");
    if (e.tokens.empty() && it->second.last < 0) return make_error(ErrorCode::kInvalidArgument, "fake runner: decode before any sample");
    const size_t before = it->second.cache.size();
    const size_t after = before + (e.tokens.empty() ? 1 : e.tokens.size());
    if (static_cast<int64_t>(after) > o_.context_length) return make_error(ErrorCode::kOutOfRange, "fake runner: past the context");
    new_blocks += (after + o_.block_tokens - 1) / o_.block_tokens - (before + o_.block_tokens - 1) / o_.block_tokens;
    if (!e.tokens.empty()) ++rec.prefill_entries;
    rec.tokens += e.tokens.empty() ? 1 : e.tokens.size();
  }
  if (used_blocks_locked() + new_blocks > o_.total_blocks) return make_error(ErrorCode::kOutOfMemory, "fake runner: KV pool exhausted");
  std::vector<int32_t> out(entries.size(), -1);
  for (size_t i = 0; i < entries.size(); ++i) {
    Seq& s = seqs_[entries[i].seq];
    if (entries[i].tokens.empty()) {
      s.cache.push_back(s.last);
    } else {
      s.cache.insert(s.cache.end(), entries[i].tokens.begin(), entries[i].tokens.end());
    }
    if (entries[i].sample) {
      s.last = o_.next_token(s.cache);
      out[i] = s.last;
    }
  }
  steps_.push_back(rec);
  return out;
}

std::vector<FakeStepRunner::StepRecord> FakeStepRunner::steps() const {
  std::lock_guard lock(mutex_);
  return steps_;
}

size_t FakeStepRunner::live_sequences() const {
  std::lock_guard lock(mutex_);
  return seqs_.size();
}

}  // namespace r1vk::serve
