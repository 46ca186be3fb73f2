#include "api/perplexity.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <string>

namespace r1vk::api {
namespace {

// Tokens fed (and logit rows read back) at a time: bounds memory at this many rows per model.
constexpr size_t kFeedPiece = 128;

// max and log(sum(exp(x - max))) of a row, in double.
std::pair<double, double> log_sum_exp(std::span<const float> x) {
  double m = -INFINITY;
  for (float v : x) m = std::max(m, static_cast<double>(v));
  double s = 0.0;
  for (float v : x) s += std::exp(static_cast<double>(v) - m);
  return {m, std::log(s)};
}

}  // namespace

double token_nll(std::span<const float> logits, int32_t target) {
  const auto [m, lse] = log_sum_exp(logits);
  return -(static_cast<double>(logits[static_cast<size_t>(target)]) - m - lse);
}

double kl_divergence(std::span<const float> reference_logits, std::span<const float> model_logits) {
  const auto [mr, lr] = log_sum_exp(reference_logits);
  const auto [mm, lm] = log_sum_exp(model_logits);
  double kl = 0.0;
  for (size_t i = 0; i < reference_logits.size(); ++i) {
    const double log_p = static_cast<double>(reference_logits[i]) - mr - lr;
    const double log_q = static_cast<double>(model_logits[i]) - mm - lm;
    kl += std::exp(log_p) * (log_p - log_q);
  }
  return std::max(kl, 0.0);  // rounding can leave a tiny negative sum when the rows nearly agree
}

int64_t argmax(std::span<const float> logits) {
  return std::distance(logits.begin(), std::max_element(logits.begin(), logits.end()));
}

Result<std::vector<Window>> split_windows(int64_t n_tokens, int64_t context, bool with_bos) {
  const int64_t per_window = context - (with_bos ? 1 : 0);
  if (per_window < 1 || context < 2) {
    return make_error(ErrorCode::kInvalidArgument, "the context (" + std::to_string(context) +
                                                       " tokens) must hold at least two tokens to score one");
  }
  std::vector<Window> out;
  for (int64_t b = 0; b < n_tokens; b += per_window) {
    const int64_t size = std::min(per_window, n_tokens - b);
    if (!with_bos && size < 2) break;  // nothing to score in a lone token
    out.push_back({b, size});
  }
  return out;
}

Result<PerplexityReport> score_perplexity(exec::Session& model, exec::Session* reference, std::span<const int32_t> text,
                                          const PerplexityOptions& o) {
  const bool with_bos = o.bos.has_value();
  const int64_t n_text = static_cast<int64_t>(text.size());
  if (n_text < 2) {
    return make_error(ErrorCode::kInvalidArgument, "the text has " + std::to_string(n_text) + " token(s); at least 2 are needed");
  }
  for (exec::Session* s : {&model, reference}) {
    if (s && o.context > s->context_length()) {
      return make_error(ErrorCode::kInvalidArgument, "a window of " + std::to_string(o.context) + " tokens exceeds a model's " +
                                                         std::to_string(s->context_length()) + "-token context");
    }
  }
  R1VK_ASSIGN_OR_RETURN(auto windows, split_windows(n_text, o.context, with_bos));

  PerplexityReport r;
  r.has_reference = reference != nullptr;
  double nll_model = 0.0, nll_ref = 0.0;
  int64_t agree = 0;
  std::vector<double> kls;
  std::vector<int32_t> tokens;
  std::vector<float> rows, ref_rows;  // one piece's logits of the model and the reference
  for (const Window& w : windows) {
    tokens.clear();
    if (with_bos) tokens.push_back(*o.bos);
    tokens.insert(tokens.end(), text.begin() + w.begin, text.begin() + w.begin + w.size);
    const std::span<const int32_t> win(tokens);
    // Row j of a window predicts token j + 1; the last row predicts nothing.
    auto scored_rows = [&](size_t offset, size_t n) { return std::min(n, win.size() - 1 - std::min(offset, win.size() - 1)); };
    int64_t vocab = 0;
    auto vocab_of = [&](const std::vector<float>& logits, size_t n) -> Status {
      const int64_t v = static_cast<int64_t>(logits.size() / n);
      if (v <= 0 || static_cast<size_t>(v) * n != logits.size()) {
        return make_error(ErrorCode::kInternal, "logits read back with an unexpected size");
      }
      if (vocab != 0 && v != vocab) {
        return make_error(ErrorCode::kInvalidArgument, "the models' vocabularies differ: " + std::to_string(vocab) + " vs " +
                                                           std::to_string(v) + " logits per token");
      }
      vocab = v;
      return ok_status();
    };
    // Piece by piece: the reference's rows (when there is one), then the model's same rows.
    if (reference) reference->reset();
    model.reset();
    for (size_t i = 0; i < win.size(); i += kFeedPiece) {
      const auto piece = win.subspan(i, std::min(kFeedPiece, win.size() - i));
      ref_rows.clear();
      rows.clear();
      const auto t0 = std::chrono::steady_clock::now();
      if (reference) R1VK_TRY(reference->feed(piece, {}, &ref_rows));
      const auto t1 = std::chrono::steady_clock::now();
      R1VK_TRY(model.feed(piece, {}, &rows));
      const auto t2 = std::chrono::steady_clock::now();
      r.reference.seconds += std::chrono::duration<double>(t1 - t0).count();
      r.model.seconds += std::chrono::duration<double>(t2 - t1).count();
      if (reference) R1VK_TRY(vocab_of(ref_rows, piece.size()));
      R1VK_TRY(vocab_of(rows, piece.size()));
      const size_t v = static_cast<size_t>(vocab);
      for (size_t j = 0; j < scored_rows(i, piece.size()); ++j) {
        const int32_t target = win[i + j + 1];
        const auto q = std::span<const float>(rows).subspan(j * v, v);
        nll_model += token_nll(q, target);
        if (!reference) continue;
        const auto p = std::span<const float>(ref_rows).subspan(j * v, v);
        nll_ref += token_nll(p, target);
        kls.push_back(kl_divergence(p, q));
        if (argmax(p) == argmax(q)) ++agree;
      }
    }
    ++r.windows;
    r.tokens_scored += static_cast<int64_t>(win.size()) - 1;
    if (o.progress) o.progress(w.begin + w.size, n_text);
  }
  const double n = static_cast<double>(r.tokens_scored);
  r.model.mean_nll = nll_model / n;
  r.model.perplexity = std::exp(r.model.mean_nll);
  if (reference) {
    r.reference.mean_nll = nll_ref / n;
    r.reference.perplexity = std::exp(r.reference.mean_nll);
    double sum = 0.0;
    for (double k : kls) sum += k;
    r.mean_kl = sum / n;
    std::sort(kls.begin(), kls.end());
    r.max_kl = kls.back();
    // Nearest rank: the smallest value with at least 99% of the values at or below it.
    const size_t rank = static_cast<size_t>(std::ceil(0.99 * static_cast<double>(kls.size())));
    r.p99_kl = kls[std::max<size_t>(rank, 1) - 1];
    r.top1_agreement = static_cast<double>(agree) / n;
  }
  return r;
}

}  // namespace r1vk::api
