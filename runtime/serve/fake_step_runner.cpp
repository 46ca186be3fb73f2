#include "serve/fake_step_runner.h"

#include <algorithm>
#include <thread>

namespace r1vk::serve {

Result<SeqId> FakeStepRunner::add_sequence(std::span<const int32_t>) {
  std::lock_guard lock(mutex_);
  if (seqs_.size() >= o_.max_batch) return make_error(ErrorCode::kOutOfMemory, "fake runner: no free sequence slot");
  if (o_.lose_rank_at_add) {
    lost_ = "pipeline rank 1 lost: no reply to a sequence operation within 5 s";
    return make_error(ErrorCode::kIo, lost_);
  }
  if (failed_adds_ < o_.fail_adds) {
    ++failed_adds_;
    return make_error(o_.step_error_code, o_.step_error);
  }
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

exec::DraftStats FakeStepRunner::draft_stats() const {
  std::lock_guard lock(mutex_);
  return draft_stats_;
}

Result<std::vector<std::vector<int32_t>>> FakeStepRunner::step(std::span<const StepEntry> entries) {
  if (o_.step_delay.count() > 0) std::this_thread::sleep_for(o_.step_delay);
  std::lock_guard lock(mutex_);
  const auto index = static_cast<int64_t>(steps_.size() + failed_steps_);
  if (o_.lose_device_at_step >= 0 && index >= o_.lose_device_at_step) {
    ++failed_steps_;
    lost_ = "vkWaitSemaphores failed: VK_ERROR_DEVICE_LOST (fake runner)";
    return make_error(ErrorCode::kVulkan, lost_);
  }
  if (std::find(o_.fail_steps.begin(), o_.fail_steps.end(), index) != o_.fail_steps.end()) {
    ++failed_steps_;
    return make_error(o_.step_error_code, o_.step_error);
  }
  StepRecord rec;
  rec.entries = entries.size();
  size_t new_blocks = 0;
  const auto blocks = [&](size_t tokens) { return (tokens + o_.block_tokens - 1) / o_.block_tokens; };
  for (const auto& e : entries) {
    auto it = seqs_.find(e.seq);
    if (it == seqs_.end()) return make_error(ErrorCode::kInvalidArgument, "fake runner: unknown sequence");
    if (e.tokens.empty() && it->second.last < 0) return make_error(ErrorCode::kInvalidArgument, "fake runner: decode before any sample");
    const size_t before = it->second.cache.size();
    const size_t after = before + (e.tokens.empty() ? 1 : e.tokens.size());
    if (static_cast<int64_t>(after) > o_.context_length) return make_error(ErrorCode::kOutOfRange, "fake runner: past the context");
    new_blocks += blocks(after) - blocks(before);
    if (!e.tokens.empty()) ++rec.prefill_entries;
    rec.tokens += e.tokens.empty() ? 1 : e.tokens.size();
  }
  if (used_blocks_locked() + new_blocks > o_.total_blocks) return make_error(ErrorCode::kOutOfMemory, "fake runner: KV pool exhausted");
  // Drafts verified where the context and the free blocks allow, as the executor decides.
  std::vector<size_t> verify(entries.size(), 0);
  for (size_t i = 0; i < entries.size() && draft_tokens() > 0; ++i) {
    const StepEntry& e = entries[i];
    const Seq& s = seqs_[e.seq];
    if (e.drafts == 0 || !e.tokens.empty() || !e.sample) continue;
    rec.asked += e.drafts;
    const size_t pos = s.cache.size() + 1;  // after the sampled token's row
    size_t n = std::min<size_t>(s.drafts.size(), o_.ignore_entry_drafts ? s.drafts.size() : e.drafts);
    n = std::min<size_t>(n, static_cast<size_t>(std::max<int64_t>(o_.context_length - static_cast<int64_t>(pos), 0)));
    for (; n > 0; --n) {
      const size_t extra = blocks(pos + n) - blocks(pos);
      if (used_blocks_locked() + new_blocks + extra <= o_.total_blocks) {
        new_blocks += extra;
        break;
      }
    }
    verify[i] = n;
    rec.verified += n;
    rec.tokens += n;
  }
  std::vector<std::vector<int32_t>> out(entries.size());
  for (size_t i = 0; i < entries.size(); ++i) {
    Seq& s = seqs_[entries[i].seq];
    if (entries[i].tokens.empty()) {
      s.cache.push_back(s.last);
    } else {
      s.cache.insert(s.cache.end(), entries[i].tokens.begin(), entries[i].tokens.end());
    }
    if (!entries[i].sample) continue;
    s.last = o_.next_token(s.cache);
    out[i] = {s.last};
    draft_stats_.proposed += verify[i];
    // Draft d stands when it is the token sampled after the ones before it; the rows of the
    // rejected ones leave the cache (nothing of them was kept here). Per depth, as the executor
    // counts: the drafts up to the first rejected one.
    for (size_t d = 0; d < verify[i]; ++d) {
      ++draft_stats_.proposed_at[std::min<size_t>(d, exec::kMaxDraftTokens - 1)];
      if (s.drafts[d] != s.last) break;
      ++rec.accepted;
      ++draft_stats_.accepted;
      ++draft_stats_.accepted_at[std::min<size_t>(d, exec::kMaxDraftTokens - 1)];
      s.cache.push_back(s.last);
      s.last = o_.next_token(s.cache);
      out[i].push_back(s.last);
    }
    s.drafts.clear();
    if (draft_tokens() > 0) {
      std::vector<int32_t> history = s.cache;
      history.push_back(s.last);
      for (uint32_t d = 0; d < o_.draft_tokens; ++d) {
        s.drafts.push_back(o_.draft_token(history));
        history.push_back(s.drafts.back());
      }
    }
  }
  steps_.push_back(rec);
  return out;
}

std::string FakeStepRunner::lost() const {
  std::lock_guard lock(mutex_);
  return lost_;
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
