// One conversation on a loaded model: a client of BatchExecutor holding one sequence. By default
// a session owns a batch-of-one executor (its own KV block pool, activation arena and recorded
// command buffers); sessions created in a shared executor can also step together in one submit.
// A decode step is one queue submit; the host writes the step's values and reads the new token.
#pragma once

#include <cstdint>
#include <memory>
#include <span>
#include <vector>

#include "base/status.h"
#include "exec/batch_executor.h"
#include "exec/model.h"

namespace r1vk::exec {

struct SessionOptions {
  bool keep_logits = false;  // copy every row's logits back to the host (logits, ppl)
  bool profile = false;      // timestamp every op of every step (bench)
  // MTP speculative decoding (BatchOptions::draft_tokens): -1 on (1 draft per step) when the
  // plan has an MTP program and neither keep_logits nor profile is set, else off; 0 off; N >= 1
  // on with N drafts per step, at most kMaxDraftTokens (an error without an MTP program or with
  // keep_logits). The output is the same either way:
  // greedy, or sampled with the same seed (speculative rejection sampling, docs/speculative.md).
  int draft_tokens = -1;
  // Automatic off at low acceptance (BatchOptions::draft_min_acceptance); < 0: its default.
  float draft_min_acceptance = -1.0f;
};

class Session {
 public:
  static Result<std::unique_ptr<Session>> create(Model& model, const SessionOptions& options = {});
  // The executor create() makes for `options` (errors: the option checks of create()); a load
  // under a device-memory budget reserves executor_device_bytes of it (exec::ModelOptions::reserve).
  static Result<BatchOptions> executor_options(const Model& model, const SessionOptions& options);
  // A session that is one sequence of `executor` (created on `model`; for a Pipeline, its first
  // stage's model); the executor's keep_logits and profile options apply. The sequence is freed
  // when the session is destroyed.
  static Result<std::unique_ptr<Session>> create_in(Model& model, std::shared_ptr<SequenceExecutor> executor);
  ~Session();
  Session(const Session&) = delete;
  Session& operator=(const Session&) = delete;

  // One decode step of every session, in one queue submit: each continues from its last sampled
  // token with its own sampling (sampling[i] for sessions[i]). All must share one executor (at
  // most its max_batch of them), none may have a step in flight. Returns the new tokens in order;
  // on an error no session changes. With MTP each verifies its draft as step() does: a session
  // whose draft stood returns the token after it on the next call without a row of its own (no
  // submit at all when every session has one queued).
  static Result<std::vector<int32_t>> step_together(std::span<Session* const> sessions, std::span<const Sampling> sampling);

  int64_t position() const { return position_; }
  int64_t context_length() const { return model_.context_length(); }
  int64_t vocab_size() const { return model_.vocab_size(); }
  int32_t last_token() const { return last_token_; }

  // Runs `tokens` at the current position (prefill chunks; one token uses the decode command
  // buffer) and samples the next token from the last row. With keep_logits, `logits` receives
  // [tokens.size(), vocab]. Refuses to go past the context with an error, leaving state as is.
  Status feed(std::span<const int32_t> tokens, const Sampling& sampling, std::vector<float>* logits = nullptr);

  // One decode step on the token sampled last: submit, wait, return the next sampled token.
  // With MTP a step verifies the MTP draft too; when it stands the step yields two
  // tokens, and the next call returns the second without a submit (position() and last_token()
  // move one token per call either way). A call whose sampling differs from the step that drew
  // the second token drops it and steps, so the tokens are those of decoding without MTP.
  Result<int32_t> step(const Sampling& sampling, std::vector<float>* logits = nullptr);
  // Whether steps verify MTP drafts, and the executor's counts of drafts verified and accepted.
  bool speculative() const { return speculate_; }
  DraftStats draft_stats() const { return exec_->draft_stats(); }

  // Non-blocking decode step: submit now, poll() later; the render loop never waits.
  Status submit_step(const Sampling& sampling);
  // True when the submitted step finished (its token is then last_token()).
  Result<bool> poll();

  // Forgets the context (position 0); cache contents are overwritten as new tokens arrive.
  void reset();

  // Moves back to `position` (at most the current one), keeping the cache of the tokens before
  // it, so a conversation that shares that prefix continues without feeding it again. The next
  // call must be feed (there is no sampled token to step from).
  Status rewind(int64_t position);

  // Benchmarks only: moves to `position` as if that many tokens had been fed (the cache holds
  // whatever it held), so decode speed at a long context can be timed without a long prefill.
  Status seek_for_benchmark(int64_t position);

  // With SessionOptions::profile: nanoseconds each op of the last step took (a decode step, or
  // after feed the last prefill chunk).
  Result<std::vector<double>> op_times_ns() const;

  uint32_t submits() const { return exec_->submits(); }

 private:
  explicit Session(Model& model) : model_(model) {}
  Status run(std::span<const int32_t> tokens, const Sampling& sampling, std::vector<float>* logits, bool wait);
  Status finish(std::vector<float>* logits);
  // After a finished step in which this session was entry `entry`: takes its sampled token and
  // position, queuing the second token of an accepted draft.
  Status take_emitted(size_t entry);
  // Drops the tokens an accepted draft put ahead of what step() returned: the cache goes back
  // to position_, and the next step feeds last_token_ itself.
  Status drop_queued();
  // Drops the queued tokens when `sampling` differs from the sampling they were drawn with: a
  // token sampled ahead under the old settings is not what a plain step would return now.
  Status drop_queued_unless(const Sampling& sampling);
  int32_t pop_queued();  // the next queued token becomes last_token_

  Model& model_;
  SessionOptions options_;
  std::shared_ptr<SequenceExecutor> exec_;
  SeqId seq_ = 0;
  uint32_t chunk_ = 1;
  int64_t position_ = 0;
  int32_t last_token_ = -1;
  bool submitted_ = false;  // this session's step is in flight (submit_step)
  bool speculate_ = false;  // the executor drafts with MTP and this session verifies its drafts
  std::vector<int32_t> queued_;  // emitted by the last step, not yet returned by step()
  Sampling step_sampling_;       // the sampling of the step in flight or last finished
  Sampling queued_sampling_;     // the sampling queued_ was drawn with
};

}  // namespace r1vk::exec
