#include "serve/scheduler.h"

#include <algorithm>

namespace r1vk::serve {

size_t Scheduler::blocks_needed(const Sequence& s, const StepRunner& runner) {
  const int64_t tokens = std::min<int64_t>(static_cast<int64_t>(s.prompt.size()) + s.max_tokens, runner.context_length());
  const int64_t bt = runner.block_tokens();
  return static_cast<size_t>((tokens + bt - 1) / bt);
}

Status Scheduler::enqueue(Sequence* s, const StepRunner& runner) {
  if (blocks_needed(*s, runner) > runner.total_blocks()) {
    return make_error(ErrorCode::kOutOfRange, "the request needs more KV blocks than the server has");
  }
  if (waiting_.size() >= options_.max_waiting) {
    return make_error(ErrorCode::kOutOfMemory, "the server is busy: " + std::to_string(waiting_.size()) + " requests are waiting already");
  }
  s->state = SequenceState::kWaiting;
  waiting_.push_back(s);
  return ok_status();
}

Result<std::vector<ScheduledSequence>> Scheduler::schedule(StepRunner& runner) {
  // Admission, strictly in arrival order: a large request at the head is not overtaken forever.
  while (!waiting_.empty() && running_.size() < runner.max_batch()) {
    Sequence* s = waiting_.front();
    const size_t need = blocks_needed(*s, runner);
    if (reserved_ + need > runner.total_blocks()) break;
    R1VK_ASSIGN_OR_RETURN(s->seq, runner.add_sequence(s->prompt));
    // Prefix reuse: the runner may already hold the prompt's first tokens in cached KV blocks.
    s->prefilled = static_cast<size_t>(runner.position(s->seq));
    waiting_.pop_front();
    reserved_ += need;
    s->reserved_blocks = need;
    s->state = SequenceState::kRunning;
    running_.push_back(s);
  }

  std::vector<ScheduledSequence> plan;
  uint32_t budget = std::min(options_.step_token_budget, runner.max_step_tokens());
  // Decodes first: ongoing streams keep their pace while prompts are being read.
  for (Sequence* s : running_) {
    if (s->prefill_done() && budget > 0) {
      plan.push_back({s, 0});
      --budget;
    }
  }
  // Drafts verified beside the decodes, a row each, while the budget allows. A sequence with k
  // tokens left verifies at most k - 1: a step emits at most one token more than the drafts it
  // verifies, and tokens past max_tokens would be cut (a sequence with one token left verifies
  // none). A batch with more decodes than draft_max_decodes verifies none: there the extra rows
  // cost more than the steps they save (header comment).
  const uint32_t draft_tokens = runner.draft_tokens();
  if (draft_tokens > 0 && plan.size() <= options_.draft_max_decodes) {
    for (ScheduledSequence& p : plan) {
      const int64_t left = p.sequence->max_tokens - p.sequence->generated;
      const auto n = static_cast<uint32_t>(std::clamp<int64_t>(left - 1, 0, std::min(draft_tokens, budget)));
      p.drafts = n;
      budget -= n;
    }
  }
  uint32_t decodes = 0;  // rows of the decodes
  for (const ScheduledSequence& p : plan) decodes += 1 + p.drafts;
  uint32_t wanted = 0;  // prompt tokens this step could feed
  for (Sequence* s : running_) {
    if (s->prefill_done()) continue;
    wanted += static_cast<uint32_t>(std::min<size_t>({s->prompt.size() - s->prefilled, options_.prefill_chunk, budget - wanted}));
  }
  budget = std::min(budget, prefill_budget(decodes, wanted, runner));
  for (Sequence* s : running_) {
    if (s->prefill_done() || budget == 0) continue;
    const size_t chunk = std::min<size_t>({s->prompt.size() - s->prefilled, options_.prefill_chunk, budget});
    plan.push_back({s, chunk});
    budget -= static_cast<uint32_t>(chunk);
  }
  return plan;
}

uint32_t Scheduler::prefill_budget(uint32_t decodes, uint32_t wanted, const StepRunner& runner) {
  const uint32_t rows = decodes + wanted;
  if (wanted == 0 || runner.step_rows(rows) == rows) return wanted;
  // The step would be padded (e.g. an 18-token prompt alone runs as a 64-row step). Feed only as
  // much as fills the largest smaller row count exactly, the rest next step, when that still
  // feeds at least half of the prompt tokens: two small steps cost less than one padded large
  // one. With fewer (15 decodes beside an 18-token prompt) the padded step stays: the prompt
  // would otherwise trickle in a token per step and wait many steps for its first token.
  for (uint32_t r = rows - 1; r > decodes; --r) {
    if (runner.step_rows(r) == r) return 2 * (r - decodes) >= wanted ? r - decodes : wanted;
  }
  return wanted;
}

void Scheduler::remove(Sequence* s, StepRunner& runner) {
  if (s->state == SequenceState::kWaiting) {
    waiting_.erase(std::remove(waiting_.begin(), waiting_.end(), s), waiting_.end());
  } else if (s->state == SequenceState::kRunning) {
    running_.erase(std::remove(running_.begin(), running_.end(), s), running_.end());
    runner.free_sequence(s->seq);
    reserved_ -= s->reserved_blocks;
    s->reserved_blocks = 0;
  }
  s->state = SequenceState::kFinished;
}

}  // namespace r1vk::serve
