#include "serve/session_pool_runner.h"

namespace r1vk::serve {

SessionPoolRunner::SessionPoolRunner(exec::Model& model, uint32_t max_batch, uint32_t block_tokens)
    : model_(model), max_batch_(max_batch), block_tokens_(block_tokens) {}

size_t SessionPoolRunner::blocks_per_sequence() const { return blocks_for(model_.context_length()); }

Result<SeqId> SessionPoolRunner::add_sequence() {
  if (sessions_.size() >= max_batch_) {
    return make_error(ErrorCode::kOutOfMemory, "all " + std::to_string(max_batch_) + " sequence slots are in use");
  }
  R1VK_ASSIGN_OR_RETURN(auto session, exec::Session::create(model_));
  const SeqId id = next_++;
  sessions_.emplace(id, std::move(session));
  return id;
}

void SessionPoolRunner::free_sequence(SeqId seq) { sessions_.erase(seq); }

int64_t SessionPoolRunner::position(SeqId seq) const {
  auto it = sessions_.find(seq);
  return it == sessions_.end() ? 0 : it->second->position();
}

size_t SessionPoolRunner::free_blocks() const {
  size_t used = 0;
  for (const auto& [id, s] : sessions_) used += blocks_for(s->position());
  return total_blocks() - used;
}

Result<std::vector<int32_t>> SessionPoolRunner::step(std::span<const StepEntry> entries) {
  std::vector<exec::Session*> sessions;
  for (const auto& e : entries) {
    auto it = sessions_.find(e.seq);
    if (it == sessions_.end()) return make_error(ErrorCode::kInvalidArgument, "step: unknown sequence " + std::to_string(e.seq));
    const int64_t n = e.tokens.empty() ? 1 : static_cast<int64_t>(e.tokens.size());
    if (e.tokens.empty() && it->second->last_token() < 0) {
      return make_error(ErrorCode::kInvalidArgument, "step: sequence " + std::to_string(e.seq) + " has no sampled token to decode");
    }
    if (it->second->position() + n > model_.context_length()) {
      return make_error(ErrorCode::kOutOfRange, "step: sequence " + std::to_string(e.seq) + " would pass the context");
    }
    sessions.push_back(it->second.get());
  }
  std::vector<int32_t> out(entries.size(), -1);
  for (size_t i = 0; i < entries.size(); ++i) {
    const StepEntry& e = entries[i];
    if (e.tokens.empty()) {
      R1VK_ASSIGN_OR_RETURN(out[i], sessions[i]->step(e.sampling));
    } else {
      // Session::feed always samples from the last row; an entry that asked for no sample
      // simply ignores it (the next chunk feeds tokens explicitly).
      R1VK_TRY(sessions[i]->feed(e.tokens, e.sampling));
      if (e.sample) out[i] = sessions[i]->last_token();
    }
  }
  return out;
}

}  // namespace r1vk::serve
