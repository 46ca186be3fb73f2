#include "exec/session.h"

namespace r1vk::exec {

Result<BatchOptions> Session::executor_options(const Model& model, const SessionOptions& options) {
  BatchOptions bo;
  bo.max_batch = 1;
  bo.keep_logits = options.keep_logits;
  bo.profile = options.profile;
  if (options.draft_tokens < -1) return make_error(ErrorCode::kInvalidArgument, "draft tokens must be -1 (default), 0 (off) or a count of drafts per step");
  // A verifying step has 1 + drafts rows: step()'s logits would no longer be one row per token.
  if (options.keep_logits && options.draft_tokens > 0) {
    return make_error(ErrorCode::kInvalidArgument, "a session keeping logits cannot verify MTP drafts");
  }
  const uint32_t by_default = options.keep_logits || options.profile ? 0u : default_draft_tokens(model);
  bo.draft_tokens = options.draft_tokens < 0 ? by_default : static_cast<uint32_t>(options.draft_tokens);
  if (options.draft_min_acceptance >= 0.0f) bo.draft_min_acceptance = options.draft_min_acceptance;
  return bo;
}

Result<std::unique_ptr<Session>> Session::create(Model& model, const SessionOptions& options) {
  R1VK_ASSIGN_OR_RETURN(const BatchOptions bo, executor_options(model, options));
  R1VK_ASSIGN_OR_RETURN(auto exec, BatchExecutor::create(model, bo));
  return create_in(model, std::move(exec));
}

Result<std::unique_ptr<Session>> Session::create_in(Model& model, std::shared_ptr<SequenceExecutor> executor) {
  if (!executor) return make_error(ErrorCode::kInvalidArgument, "no executor");
  std::unique_ptr<Session> s(new Session(model));
  s->options_.keep_logits = executor->options().keep_logits;
  s->options_.profile = executor->options().profile;
  s->options_.draft_tokens = static_cast<int>(executor->options().draft_tokens);
  s->speculate_ = executor->mtp();
  s->exec_ = std::move(executor);
  R1VK_ASSIGN_OR_RETURN(s->seq_, s->exec_->add_sequence({}));
  s->chunk_ = s->exec_->max_step_tokens();
  return s;
}

Session::~Session() {
  if (!exec_) return;
  // A step in flight on a shared executor uses this sequence: let it finish first.
  if (exec_->pending()) (void)exec_->finish(nullptr);
  (void)exec_->free_sequence(seq_);
}

Result<std::vector<int32_t>> Session::step_together(std::span<Session* const> sessions, std::span<const Sampling> sampling) {
  if (sessions.empty() || sampling.size() != sessions.size()) {
    return make_error(ErrorCode::kInvalidArgument, "step_together needs one sampling setting per session");
  }
  std::vector<StepEntry> entries;
  for (size_t i = 0; i < sessions.size(); ++i) {
    Session* s = sessions[i];
    if (!s || s->exec_ != sessions[0]->exec_) {
      return make_error(ErrorCode::kInvalidArgument, "sessions stepped together must share one executor");
    }
    if (s->last_token_ < 0) return make_error(ErrorCode::kInvalidArgument, "nothing to continue from: feed a prompt first");
  }
  SequenceExecutor& ex = *sessions[0]->exec_;
  if (ex.pending()) return make_error(ErrorCode::kInvalidArgument, "a submitted step has not been polled to completion");
  // One token per session per call. A session holding a token its last accepted draft queued
  // returns it without a row; the others step together, each verifying its MTP draft.
  std::vector<size_t> stepped;  // sessions[] index of each entry
  for (size_t i = 0; i < sessions.size(); ++i) {
    Session* s = sessions[i];
    R1VK_TRY(s->drop_queued_unless(sampling[i]));
    if (!s->queued_.empty()) continue;
    s->step_sampling_ = sampling[i];
    R1VK_ASSIGN_OR_RETURN(int32_t sampled, ex.last_token(s->seq_));
    entries.push_back({s->seq_, {}, sampling[i], true, s->speculate_});
    if (sampled < 0) entries.back().tokens = std::span(&s->last_token_, 1);
    stepped.push_back(i);
  }
  if (!entries.empty()) R1VK_TRY(ex.step(entries, nullptr));
  std::vector<int32_t> tokens(sessions.size());
  for (size_t i = 0, e = 0; i < sessions.size(); ++i) {
    Session* s = sessions[i];
    if (e < stepped.size() && stepped[e] == i) {
      R1VK_TRY(s->take_emitted(e));
      ++e;
    } else {
      s->pop_queued();
    }
    tokens[i] = s->last_token_;
  }
  return tokens;
}

Status Session::run(std::span<const int32_t> tokens, const Sampling& sampling, std::vector<float>* logits, bool wait) {
  StepEntry e{seq_, tokens, sampling, true};
  if (tokens.empty()) {
    R1VK_ASSIGN_OR_RETURN(int32_t sampled, exec_->last_token(seq_));
    if (sampled < 0) e.tokens = std::span(&last_token_, 1);  // after drop_queued
    e.speculate = speculate_;
  }
  R1VK_TRY(exec_->submit(std::span(&e, 1)));
  step_sampling_ = sampling;
  submitted_ = true;
  if (!wait) return ok_status();
  return finish(logits);
}

Status Session::finish(std::vector<float>* logits) {
  submitted_ = false;
  R1VK_TRY(exec_->finish(logits && options_.keep_logits ? logits : nullptr));
  return take_emitted(0);  // this session's entry is the only one
}

Status Session::take_emitted(size_t entry) {
  R1VK_ASSIGN_OR_RETURN(last_token_, exec_->last_token(seq_));
  R1VK_ASSIGN_OR_RETURN(position_, exec_->position(seq_));
  if (!speculate_) return ok_status();
  const std::vector<int32_t>& emitted = exec_->emitted()[entry];
  if (emitted.size() > 1) {
    // An accepted draft: return the draft now and the token after it on the next step().
    last_token_ = emitted.front();
    queued_.assign(emitted.begin() + 1, emitted.end());
    queued_sampling_ = step_sampling_;
    position_ -= static_cast<int64_t>(queued_.size());
  }
  return ok_status();
}

Status Session::drop_queued() {
  if (queued_.empty()) return ok_status();
  R1VK_TRY(exec_->rewind(seq_, position_));
  // Plain decoding drew only the tokens returned so far: the RNG counter goes back with the
  // cache, or a later sampled token would differ from plain decoding's with the same seed.
  // (Only a BatchExecutor verifies drafts, so only it queues tokens.)
  if (auto* batch = dynamic_cast<BatchExecutor*>(exec_.get())) R1VK_TRY(batch->unsample(seq_, static_cast<uint32_t>(queued_.size())));
  queued_.clear();
  return ok_status();
}

namespace {
bool same_sampling(const Sampling& a, const Sampling& b) {
  return a.temperature == b.temperature && a.top_p == b.top_p && a.top_k == b.top_k && a.seed == b.seed;
}
}  // namespace

Status Session::drop_queued_unless(const Sampling& sampling) {
  if (queued_.empty() || same_sampling(sampling, queued_sampling_)) return ok_status();
  return drop_queued();
}

Status Session::feed(std::span<const int32_t> tokens, const Sampling& sampling, std::vector<float>* logits) {
  if (exec_->pending()) return make_error(ErrorCode::kInvalidArgument, "a submitted step has not been polled to completion");
  if (logits && !options_.keep_logits) return make_error(ErrorCode::kInvalidArgument, "session was created without keep_logits");
  R1VK_TRY(drop_queued());
  const int64_t vocab = model_.vocab_size();
  for (int32_t t : tokens) {
    if (t < 0 || t >= vocab) {
      return make_error(ErrorCode::kInvalidArgument, "token " + std::to_string(t) + " is outside the vocabulary of " + std::to_string(vocab));
    }
  }
  if (position_ + static_cast<int64_t>(tokens.size()) > model_.context_length()) {
    return make_error(ErrorCode::kOutOfRange, "context full: " + std::to_string(position_) + " + " + std::to_string(tokens.size()) +
                                                  " tokens exceed the " + std::to_string(model_.context_length()) + "-token context");
  }
  // All or nothing: a feed that would run out of KV blocks part way (a batch's sequences share
  // its blocks) is refused before its first chunk, so a failed feed leaves the session as it was.
  // The blocks a sequence holds are counted from its position (a draft row may hold one more, so
  // the check can refuse a feed that would just fit, never admit one that does not).
  if (const auto* batch = dynamic_cast<const BatchExecutor*>(exec_.get())) {
    const int64_t bt = batch->block_tokens();
    const int64_t more = (position_ + static_cast<int64_t>(tokens.size()) + bt - 1) / bt - (position_ + bt - 1) / bt;
    if (more > static_cast<int64_t>(batch->free_blocks())) {
      return make_error(ErrorCode::kOutOfRange, "KV cache full: feeding " + std::to_string(tokens.size()) + " tokens needs " +
                                                    std::to_string(more) + " more blocks, " + std::to_string(batch->free_blocks()) +
                                                    " of " + std::to_string(batch->total_blocks()) +
                                                    " are free (the blocks are shared by every sequence of this executor: "
                                                    "end, reset or destroy one to free its blocks)");
    }
  }
  for (size_t i = 0; i < tokens.size(); i += chunk_) {
    const size_t n = std::min<size_t>(chunk_, tokens.size() - i);
    R1VK_TRY(run(tokens.subspan(i, n), sampling, logits, true));
  }
  return ok_status();
}

Result<int32_t> Session::step(const Sampling& sampling, std::vector<float>* logits) {
  if (exec_->pending()) return make_error(ErrorCode::kInvalidArgument, "a submitted step has not been polled to completion");
  if (last_token_ < 0) return make_error(ErrorCode::kInvalidArgument, "nothing to continue from: feed a prompt first");
  R1VK_TRY(drop_queued_unless(sampling));
  if (!queued_.empty()) return pop_queued();
  R1VK_TRY(run({}, sampling, logits, true));
  return last_token_;
}

int32_t Session::pop_queued() {
  last_token_ = queued_.front();
  queued_.erase(queued_.begin());
  position_ += 1;
  return last_token_;
}

Status Session::submit_step(const Sampling& sampling) {
  if (exec_->pending()) return make_error(ErrorCode::kInvalidArgument, "a submitted step has not been polled to completion");
  if (last_token_ < 0) return make_error(ErrorCode::kInvalidArgument, "nothing to continue from: feed a prompt first");
  R1VK_TRY(drop_queued_unless(sampling));
  if (!queued_.empty()) {  // already computed: the step is done at once
    pop_queued();
    return ok_status();
  }
  return run({}, sampling, nullptr, false);
}

Result<bool> Session::poll() {
  if (!submitted_) return true;
  R1VK_ASSIGN_OR_RETURN(bool done, exec_->poll());
  if (!done) return false;
  R1VK_TRY(finish(nullptr));
  return true;
}

Status Session::rewind(int64_t position) {
  if (exec_->pending()) return make_error(ErrorCode::kInvalidArgument, "a submitted step has not been polled to completion");
  if (position > position_) {
    return make_error(ErrorCode::kOutOfRange, "cannot rewind to position " + std::to_string(position) + " from " +
                                                  std::to_string(position_));
  }
  R1VK_TRY(exec_->rewind(seq_, position));
  queued_.clear();
  position_ = position;
  last_token_ = -1;
  return ok_status();
}

Status Session::seek_for_benchmark(int64_t position) {
  if (exec_->pending()) return make_error(ErrorCode::kInvalidArgument, "a submitted step has not been polled to completion");
  R1VK_TRY(drop_queued());
  R1VK_TRY(exec_->seek_for_benchmark(seq_, position));
  position_ = position;
  R1VK_ASSIGN_OR_RETURN(last_token_, exec_->last_token(seq_));
  return ok_status();
}

Result<std::vector<double>> Session::op_times_ns() const {
  if (!options_.profile) return make_error(ErrorCode::kInvalidArgument, "session was created without profile");
  return exec_->op_times_ns();
}

void Session::reset() {
  // Only fails while a step is in flight, which the callers never reset under.
  if (exec_->pending() || !exec_->rewind(seq_, 0).ok()) return;
  queued_.clear();
  position_ = 0;
  last_token_ = -1;
}

}  // namespace r1vk::exec
