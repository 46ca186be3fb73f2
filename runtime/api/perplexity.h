// Perplexity of a token stream on a session, and optionally the divergence of its next-token
// distributions from a reference model's on the same windows (how a quantisation is judged).
//
// Windows: the text's tokens are cut into consecutive, non-overlapping windows. Each window is
// scored from a fresh start (position 0): it begins with BOS when the tokenizer has one, then
// holds up to `context - 1` text tokens (`context` without BOS). Every token with at least one
// token before it in its window is scored, so with BOS every text token is scored; without BOS
// the first token of each window is not. Logits are read back one prefill chunk at a time, so
// memory stays at a chunk's logits plus one double per scored token (for the KL percentile).
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>

#include "base/status.h"
#include "exec/session.h"

namespace r1vk::api {

// -log softmax(logits)[target], in double with the max subtracted first.
double token_nll(std::span<const float> logits, int32_t target);
// KL(P_ref || P_model) of the softmax distributions of two logit rows, in double; exactly 0 for
// equal rows and never negative.
double kl_divergence(std::span<const float> reference_logits, std::span<const float> model_logits);
// Index of the largest logit (the first on ties).
int64_t argmax(std::span<const float> logits);

struct Window {
  int64_t begin = 0;  // first text token
  int64_t size = 0;   // text tokens in the window (BOS not counted)
};
// The windows over `n_tokens` text tokens (see the header comment). Windows that would score
// nothing (a lone trailing token without BOS) are left out.
Result<std::vector<Window>> split_windows(int64_t n_tokens, int64_t context, bool with_bos);

struct PerplexityOptions {
  int64_t context = 0;                  // window length in tokens, BOS included; <= the sessions'
  std::optional<int32_t> bos;           // prepended to every window when set
  std::function<void(int64_t done, int64_t total)> progress;  // text tokens processed so far
};

struct DistributionStats {
  double mean_nll = 0.0;
  double perplexity = 0.0;  // exp(mean_nll)
  double seconds = 0.0;     // time in this model's forward passes and logit read-back
};

struct PerplexityReport {
  int64_t windows = 0;
  int64_t tokens_scored = 0;
  DistributionStats model;
  // With a reference session:
  bool has_reference = false;
  DistributionStats reference;
  double mean_kl = 0.0;      // mean over scored tokens of KL(P_ref || P_model), nats
  double p99_kl = 0.0;       // 99th percentile (nearest rank)
  double max_kl = 0.0;
  double top1_agreement = 0.0;  // fraction of scored tokens where both argmaxes are equal
};

// Both sessions must have keep_logits, the same vocabulary and at least `context` positions.
// `reference` may be null. The sessions are reset before every window.
Result<PerplexityReport> score_perplexity(exec::Session& model, exec::Session* reference, std::span<const int32_t> text_tokens,
                                          const PerplexityOptions& options);

}  // namespace r1vk::api
