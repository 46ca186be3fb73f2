#include "exec/pipeline.h"

#include <chrono>
#include <string>

namespace r1vk::exec {
namespace {

double seconds_since(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
}

Error invalid(const std::string& what) { return Error(ErrorCode::kInvalidArgument, what); }

}  // namespace

Result<int64_t> apply_sequence_command(BatchExecutor& e, const SequenceCommand& c) {
  switch (c.kind) {
    case SequenceCommand::kAdd:
    case SequenceCommand::kFork: {
      R1VK_ASSIGN_OR_RETURN(SeqId id, c.kind == SequenceCommand::kAdd ? e.add_sequence(c.prompt) : e.fork_sequence(c.seq, c.value));
      R1VK_ASSIGN_OR_RETURN(int64_t pos, e.position(id));
      return static_cast<int64_t>(uint64_t{id} << 32 | static_cast<uint64_t>(pos));
    }
    case SequenceCommand::kFree:
      R1VK_TRY(e.free_sequence(c.seq));
      return 0;
    case SequenceCommand::kRewind:
      R1VK_TRY(e.rewind(c.seq, c.value));
      return e.position(c.seq);
    case SequenceCommand::kSeek:
      R1VK_TRY(e.seek_for_benchmark(c.seq, c.value));
      return e.position(c.seq);
  }
  return invalid("unknown sequence command " + std::to_string(static_cast<int>(c.kind)));
}

Status LocalStageChain::apply(const SequenceCommand& c, int64_t expect) {
  for (size_t i = 0; i < stages_.size(); ++i) {
    R1VK_ASSIGN_OR_RETURN(int64_t got, apply_sequence_command(*stages_[i], c));
    if (got != expect) {
      return make_error(ErrorCode::kInternal, "pipeline stage " + std::to_string(i + 1) + " disagrees with stage 0 on a sequence operation");
    }
  }
  return ok_status();
}

Status LocalStageChain::submit(std::span<const StepEntry> entries, std::span<const float> hidden) {
  seconds_.resize(stages_.size(), 0.0);
  tokens_.clear();
  logits_.clear();
  std::vector<float> rows(hidden.begin(), hidden.end());
  for (size_t i = 0; i < stages_.size(); ++i) {
    BatchExecutor& s = *stages_[i];
    const auto t0 = std::chrono::steady_clock::now();
    R1VK_TRY(s.set_stage_input(rows));
    const bool logits = s.last_stage() && s.options().keep_logits;
    auto out = s.step(entries, logits ? &logits_ : nullptr);
    if (!out.ok()) return std::move(out).error().with_context("pipeline stage " + std::to_string(i + 1));
    if (s.last_stage()) {
      tokens_ = std::move(out).value();
    } else {
      R1VK_ASSIGN_OR_RETURN(auto h, s.stage_output());
      rows.assign(h.begin(), h.end());
    }
    seconds_[i] += seconds_since(t0);
  }
  return ok_status();
}

Result<std::vector<int32_t>> LocalStageChain::finish(std::vector<float>* logits) {
  if (logits) logits->insert(logits->end(), logits_.begin(), logits_.end());
  return std::move(tokens_);
}

Result<std::unique_ptr<Pipeline>> Pipeline::create(std::shared_ptr<BatchExecutor> first, std::unique_ptr<StageChain> rest) {
  if (!first || !rest || rest->stages() == 0) return invalid("a pipeline needs a first stage and at least one more");
  if (!first->first_stage() || first->last_stage()) {
    return invalid("the pipeline's first executor must run the first stage only (embedding and its layers)");
  }
  return std::unique_ptr<Pipeline>(new Pipeline(std::move(first), std::move(rest)));
}

Status Pipeline::replicate(const SequenceCommand& c) {
  R1VK_ASSIGN_OR_RETURN(int64_t expect, apply_sequence_command(*first_, c));
  R1VK_TRY(rest_->apply(c, expect));
  if (c.seq >= last_.size()) last_.resize(c.seq + 1, -1);
  if (c.kind != SequenceCommand::kSeek) {
    last_[c.seq] = -1;
  } else if (last_[c.seq] < 0) {
    last_[c.seq] = 0;  // as BatchExecutor::seek_for_benchmark
  }
  return ok_status();
}

Result<SeqId> Pipeline::add_sequence(std::span<const int32_t> prompt) {
  if (pending_) return invalid("a submitted step has not finished");
  SequenceCommand c;
  c.kind = SequenceCommand::kAdd;
  c.prompt.assign(prompt.begin(), prompt.end());
  R1VK_ASSIGN_OR_RETURN(int64_t expect, apply_sequence_command(*first_, c));
  R1VK_TRY(rest_->apply(c, expect));
  const SeqId id = static_cast<SeqId>(expect >> 32);
  if (id >= last_.size()) last_.resize(id + 1, -1);
  last_[id] = -1;
  return id;
}

Result<SeqId> Pipeline::fork_sequence(SeqId parent, int64_t prefix_len) {
  if (pending_) return invalid("a submitted step has not finished");
  R1VK_ASSIGN_OR_RETURN(int64_t parent_pos, first_->position(parent));
  SequenceCommand c;
  c.kind = SequenceCommand::kFork;
  c.seq = parent;
  c.value = prefix_len;
  R1VK_ASSIGN_OR_RETURN(int64_t expect, apply_sequence_command(*first_, c));
  R1VK_TRY(rest_->apply(c, expect));
  const SeqId id = static_cast<SeqId>(expect >> 32);
  if (id >= last_.size()) last_.resize(id + 1, -1);
  last_[id] = prefix_len == parent_pos ? last_[parent] : -1;
  return id;
}

Status Pipeline::free_sequence(SeqId seq) {
  if (pending_) return invalid("a submitted step has not finished");
  return replicate({SequenceCommand::kFree, seq, 0, {}});
}

Result<int32_t> Pipeline::last_token(SeqId seq) const {
  R1VK_TRY(first_->position(seq));
  return seq < last_.size() ? last_[seq] : -1;
}

Status Pipeline::rewind(SeqId seq, int64_t position) {
  if (pending_) return invalid("a submitted step has not finished");
  return replicate({SequenceCommand::kRewind, seq, position, {}});
}

Status Pipeline::seek_for_benchmark(SeqId seq, int64_t position) {
  if (pending_) return invalid("a submitted step has not finished");
  return replicate({SequenceCommand::kSeek, seq, position, {}});
}

Status Pipeline::submit(std::span<const StepEntry> entries) {
  if (pending_) return invalid("a submitted step has not finished");
  // Stage 0 does not sample: an entry continuing from the sampled token feeds it explicitly.
  std::vector<int32_t> continued(entries.size());
  std::vector<StepEntry> explicit_entries(entries.begin(), entries.end());
  for (size_t i = 0; i < entries.size(); ++i) {
    if (!entries[i].tokens.empty()) continue;
    R1VK_ASSIGN_OR_RETURN(int32_t t, last_token(entries[i].seq));
    if (t < 0) return invalid("sequence " + std::to_string(entries[i].seq) + " has no sampled token to continue from: feed tokens");
    continued[i] = t;
    explicit_entries[i].tokens = std::span(&continued[i], 1);
  }
  const auto t0 = std::chrono::steady_clock::now();
  R1VK_TRY(first_->step(explicit_entries, nullptr));
  first_seconds_ += seconds_since(t0);
  R1VK_ASSIGN_OR_RETURN(auto hidden, first_->stage_output());
  R1VK_TRY(rest_->submit(explicit_entries, hidden));
  rows_ += hidden.size() / static_cast<size_t>(first_->hidden_size());
  hidden_bytes_ += hidden.size_bytes() * rest_->stages();
  pending_seqs_.clear();
  pending_sample_.clear();
  for (const StepEntry& e : entries) {
    pending_seqs_.push_back(e.seq);
    pending_sample_.push_back(e.sample);
  }
  pending_ = true;
  return ok_status();
}

Result<bool> Pipeline::poll() {
  if (!pending_) return true;
  return rest_->poll();
}

Result<std::vector<int32_t>> Pipeline::finish(std::vector<float>* logits) {
  if (!pending_) return invalid("no submitted step to finish");
  if (logits && !options().keep_logits) return invalid("the pipeline was created without keep_logits");
  pending_ = false;
  R1VK_ASSIGN_OR_RETURN(auto tokens, rest_->finish(logits));
  if (tokens.size() != pending_seqs_.size()) {
    return make_error(ErrorCode::kInternal, "the last pipeline stage returned " + std::to_string(tokens.size()) +
                                                " tokens for " + std::to_string(pending_seqs_.size()) + " entries");
  }
  emitted_.assign(tokens.size(), {});
  for (size_t i = 0; i < tokens.size(); ++i) {
    last_[pending_seqs_[i]] = pending_sample_[i] ? tokens[i] : -1;
    if (pending_sample_[i]) emitted_[i] = {tokens[i]};
  }
  return tokens;
}

Result<std::vector<int32_t>> Pipeline::step(std::span<const StepEntry> entries, std::vector<float>* logits) {
  if (logits && !options().keep_logits) return invalid("the pipeline was created without keep_logits");
  R1VK_TRY(submit(entries));
  return finish(logits);
}

std::vector<double> Pipeline::stage_seconds() const {
  std::vector<double> s = {first_seconds_};
  const auto rest = rest_->stage_seconds();
  s.insert(s.end(), rest.begin(), rest.end());
  return s;
}

}  // namespace r1vk::exec
