#include "exec/pipeline.h"

#include <algorithm>
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

LocalStageChain::LocalStageChain(std::vector<std::shared_ptr<BatchExecutor>> stages)
    : stages_(std::move(stages)), seconds_(stages_.size(), 0.0), at_(stages_.size()), status_(stages_.size(), ok_status()) {}

LocalStageChain::~LocalStageChain() {
  for (std::thread& t : threads_) t.join();
}

void LocalStageChain::set_first_stage(const BatchExecutor& first) {
  std::vector<const vk::Context*> contexts = {&first.model().context()};
  for (const auto& s : stages_) contexts.push_back(&s->model().context());
  std::sort(contexts.begin(), contexts.end());
  overlap_ = std::adjacent_find(contexts.begin(), contexts.end()) == contexts.end();
}

std::string LocalStageChain::lost() const {
  for (size_t i = 0; i < stages_.size(); ++i) {
    std::string why = stages_[i]->model().context().lost();
    if (!why.empty()) return "pipeline stage " + std::to_string(i + 1) + ": " + why;
  }
  return {};
}

Status LocalStageChain::apply(const SequenceCommand& c, int64_t expect) {
  if (running_ || occupied() || !done_.empty()) return invalid("a sequence operation while a pipeline step is in flight");
  for (size_t i = 0; i < stages_.size(); ++i) {
    R1VK_ASSIGN_OR_RETURN(int64_t got, apply_sequence_command(*stages_[i], c));
    if (got != expect) {
      return make_error(ErrorCode::kInternal, "pipeline stage " + std::to_string(i + 1) + " disagrees with stage 0 on a sequence operation");
    }
  }
  return ok_status();
}

bool LocalStageChain::occupied() const {
  return std::any_of(at_.begin(), at_.end(), [](const auto& b) { return b.has_value(); });
}

// Stage `stage` of the chain on `b`: its rows in, its step, then its rows (or, on the last
// stage, the sampled tokens and logits) out.
Status LocalStageChain::run(size_t stage, Batch& b) {
  BatchExecutor& s = *stages_[stage];
  const auto t0 = std::chrono::steady_clock::now();
  R1VK_TRY(s.set_stage_input(b.rows));
  const bool logits = s.last_stage() && s.options().keep_logits;
  auto out = s.step(b.entries, logits ? &b.logits : nullptr);
  if (!out.ok()) return std::move(out).error().with_context("pipeline stage " + std::to_string(stage + 1));
  if (s.last_stage()) {
    b.sampled = std::move(out).value();
  } else {
    R1VK_ASSIGN_OR_RETURN(auto h, s.stage_output());
    b.rows.assign(h.begin(), h.end());
  }
  seconds_[stage] += seconds_since(t0);
  return ok_status();
}

void LocalStageChain::launch() {
  running_ = true;
  if (overlap_) {
    for (size_t k = 0; k < stages_.size(); ++k) {
      if (at_[k]) {
        threads_.emplace_back([this, k] {
          status_[k] = run(k, *at_[k]);
          ++finished_;
        });
      }
    }
    return;
  }
  // A shared context: the chain's stages one after the other, and not beside stage 0 either.
  for (size_t k = 0; k < stages_.size(); ++k) {
    if (at_[k]) status_[k] = run(k, *at_[k]);
  }
}

Status LocalStageChain::join() {
  for (std::thread& t : threads_) t.join();
  threads_.clear();
  finished_ = 0;
  running_ = false;
  for (size_t k = 0; k < stages_.size(); ++k) {
    if (!status_[k].ok()) {
      Status st = std::move(status_[k]);
      status_.assign(stages_.size(), ok_status());
      at_.assign(stages_.size(), std::nullopt);  // the step failed: nothing of it goes on
      return st;
    }
  }
  const size_t last = stages_.size() - 1;
  if (at_[last]) done_.push_back(std::move(*at_[last]));
  for (size_t k = last; k > 0; --k) at_[k] = std::move(at_[k - 1]);
  at_[0].reset();
  return ok_status();
}

Status LocalStageChain::submit(std::span<const StepEntry> entries, std::span<const float> hidden) {
  if (running_) R1VK_TRY(join());
  Batch b;
  for (const StepEntry& e : entries) b.tokens.insert(b.tokens.end(), e.tokens.begin(), e.tokens.end());
  b.entries.assign(entries.begin(), entries.end());
  size_t next = 0;
  for (StepEntry& e : b.entries) {
    const size_t k = e.tokens.size();
    e.tokens = std::span<const int32_t>(b.tokens).subspan(next, k);
    next += k;
  }
  b.rows.assign(hidden.begin(), hidden.end());
  at_[0] = std::move(b);
  launch();
  return ok_status();
}

Result<bool> LocalStageChain::poll() {
  // Joins only a tick whose threads have all returned, and starts the next while work is left.
  while (done_.empty()) {
    if (running_) {
      if (finished_.load() < threads_.size()) return false;
      R1VK_TRY(join());
    } else if (occupied()) {
      launch();
    } else {
      break;
    }
  }
  return !done_.empty();
}

Result<std::vector<int32_t>> LocalStageChain::finish(std::vector<float>* logits) {
  while (done_.empty()) {
    if (running_) {
      R1VK_TRY(join());
    } else if (occupied()) {
      launch();
    } else {
      return invalid("no submitted pipeline step to finish");
    }
  }
  Batch b = std::move(done_.front());
  done_.pop_front();
  if (logits) logits->insert(logits->end(), b.logits.begin(), b.logits.end());
  return std::move(b.sampled);
}

Result<std::unique_ptr<Pipeline>> Pipeline::create(std::shared_ptr<BatchExecutor> first, std::unique_ptr<StageChain> rest) {
  if (!first || !rest || rest->stages() == 0) return invalid("a pipeline needs a first stage and at least one more");
  if (!first->first_stage() || first->last_stage()) {
    return invalid("the pipeline's first executor must run the first stage only (embedding and its layers)");
  }
  rest->set_first_stage(*first);
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

namespace {

// Cuts `entries` into at most `m` groups of consecutive entries with about equal rows each:
// returns where each group ends.
std::vector<size_t> micro_batch_ends(std::span<const StepEntry> entries, uint32_t m) {
  size_t rows = 0;
  for (const StepEntry& e : entries) rows += e.tokens.size();
  std::vector<size_t> ends;
  size_t in_group = 0;
  const size_t target = (rows + m - 1) / std::max<uint32_t>(m, 1);
  for (size_t i = 0; i < entries.size(); ++i) {
    in_group += entries[i].tokens.size();
    if (in_group >= target || i + 1 == entries.size()) {
      ends.push_back(i + 1);
      in_group = 0;
    }
  }
  return ends;
}

}  // namespace

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
  pending_since_ = std::chrono::steady_clock::now();
  // Micro-batches: stage 0 runs group i + 1 while the chain runs group i (and so on down the
  // stages). A group is an ordinary step of fewer sequences, so every row sees the same kernels.
  const uint32_t m = options().keep_logits ? 1 : micro_batches();
  const std::vector<size_t> ends = micro_batch_ends(explicit_entries, m);
  pending_groups_ = 0;
  size_t begin = 0;
  for (size_t end : ends) {
    const std::span<const StepEntry> group = std::span<const StepEntry>(explicit_entries).subspan(begin, end - begin);
    begin = end;
    auto run_group = [&]() -> Status {
      const auto t0 = std::chrono::steady_clock::now();
      R1VK_TRY(first_->step(group, nullptr));
      first_seconds_ += seconds_since(t0);
      R1VK_ASSIGN_OR_RETURN(auto hidden, first_->stage_output());
      R1VK_TRY(rest_->submit(group, hidden));
      rows_ += hidden.size() / static_cast<size_t>(first_->hidden_size());
      hidden_bytes_ += hidden.size_bytes() * rest_->stages();
      return ok_status();
    };
    Status st = run_group();
    if (!st.ok()) {
      // Groups already in the chain are drained so the stages stay in step with each other.
      for (size_t g = 0; g < pending_groups_; ++g) (void)rest_->finish(nullptr);
      return st;
    }
    ++pending_groups_;
  }
  micro_batches_run_ += pending_groups_;
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
  std::vector<int32_t> tokens;
  for (size_t g = 0; g < pending_groups_; ++g) {
    auto part = rest_->finish(logits);
    if (!part.ok()) {
      for (size_t rest = g + 1; rest < pending_groups_; ++rest) (void)rest_->finish(nullptr);
      return std::move(part).error();
    }
    tokens.insert(tokens.end(), part->begin(), part->end());
  }
  step_seconds_ += seconds_since(pending_since_);
  ++steps_;
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

std::string Pipeline::lost() const {
  std::string why = first_->model().context().lost();
  if (!why.empty()) return "pipeline stage 0: " + why;
  return rest_->lost();
}

std::vector<double> Pipeline::stage_seconds() const {
  std::vector<double> s = {first_seconds_};
  const auto rest = rest_->stage_seconds();
  s.insert(s.end(), rest.begin(), rest.end());
  return s;
}

}  // namespace r1vk::exec
