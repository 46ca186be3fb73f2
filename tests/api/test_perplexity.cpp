// Perplexity and KL: the numerics against closed forms, the windowing convention, and the
// runtime's numbers on the demo model against NLL the test computes itself, from PyTorch's
// golden logits (tests/data/demo_logits) and from logits read straight off a session.
#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <fstream>
#include <iterator>
#include <vector>

#include "api/demo_plan.h"
#include "api/perplexity.h"
#include "base/json_util.h"
#include "exec/session.h"
#include "harness/kernel_harness.h"

namespace r1vk {
namespace {

// The test's own -log softmax(row)[target], written out directly (no max trick needed for the
// small logits of the demo model; checked finite).
double naive_nll(const float* row, int64_t vocab, int32_t target) {
  double z = 0.0;
  for (int64_t i = 0; i < vocab; ++i) z += std::exp(static_cast<double>(row[i]));
  REQUIRE(std::isfinite(z));
  return std::log(z) - static_cast<double>(row[target]);
}

struct Golden {
  std::vector<int32_t> tokens;
  int64_t vocab = 0;
  std::vector<float> logits;
};

Golden read_golden() {
  const auto dir = testing::source_dir() / "tests/data/demo_logits";
  std::ifstream f(dir / "golden.json");
  const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  auto j = parse_json(text, "golden.json");
  REQUIRE(j.ok());
  Golden g;
  g.tokens = (*j)["tokens"].get<std::vector<int32_t>>();
  g.vocab = (*j)["vocab_size"].get<int64_t>();
  std::ifstream lf(dir / (*j)["main_logits"]["file"].get<std::string>(), std::ios::binary);
  const std::vector<char> bytes((std::istreambuf_iterator<char>(lf)), std::istreambuf_iterator<char>());
  g.logits.resize(bytes.size() / 4);
  std::memcpy(g.logits.data(), bytes.data(), g.logits.size() * 4);
  REQUIRE(g.logits.size() == g.tokens.size() * static_cast<size_t>(g.vocab));
  return g;
}

std::unique_ptr<exec::Session> logits_session(exec::Model& m) {
  exec::SessionOptions so;
  so.keep_logits = true;
  auto s = exec::Session::create(m, so);
  R1VK_REQUIRE_OK(s);
  return std::move(s).value();
}

TEST_CASE("token NLL and KL match closed forms and stay finite for huge logits") {
  const std::vector<float> uniform = {0.0f, 0.0f, 0.0f, 0.0f};
  CHECK(api::token_nll(uniform, 2) == doctest::Approx(std::log(4.0)).epsilon(1e-15));
  // p = (1/4, 3/4) against q = (1/2, 1/2).
  const std::vector<float> p = {0.0f, static_cast<float>(std::log(3.0))};
  const std::vector<float> q = {5.0f, 5.0f};
  const double want = 0.25 * std::log(0.5) + 0.75 * std::log(1.5);
  CHECK(api::kl_divergence(p, q) == doctest::Approx(want).epsilon(1e-6));
  CHECK(api::kl_divergence(q, q) == 0.0);
  CHECK(api::kl_divergence(p, p) == 0.0);
  const std::vector<float> huge = {30000.0f, 29999.0f, -30000.0f};
  const double nll = api::token_nll(huge, 1);
  CHECK(nll == doctest::Approx(1.0 + std::log1p(std::exp(-1.0))).epsilon(1e-12));
  const std::vector<float> flat3 = {0.0f, 0.0f, 0.0f};
  const double kl_huge = api::kl_divergence(huge, flat3);
  CHECK(std::isfinite(kl_huge));
  CHECK(kl_huge > 0.0);
  CHECK(api::argmax(p) == 1);
  CHECK(api::argmax(q) == 0);  // ties: the first
}

TEST_CASE("windows: non-overlapping, BOS takes one slot, a lone token without BOS is dropped") {
  auto w = api::split_windows(10, 4, true);  // 3 text tokens per window
  REQUIRE(w.ok());
  REQUIRE(w->size() == 4);
  CHECK((*w)[0].begin == 0);
  CHECK((*w)[3].begin == 9);
  CHECK((*w)[3].size == 1);
  w = api::split_windows(9, 4, false);  // 4, 4, and a lone token that scores nothing
  REQUIRE(w.ok());
  REQUIRE(w->size() == 2);
  CHECK((*w)[1].size == 4);
  CHECK(!api::split_windows(10, 1, true).ok());
  CHECK(!api::split_windows(10, 1, false).ok());
  CHECK(!api::split_windows(10, 0, false).ok());
}

TEST_CASE("demo model perplexity: one window matches PyTorch's golden logits, many windows match per-window logits") {
  const Golden g = read_golden();
  REQUIRE(g.tokens.front() == 0);  // BOS
  testing::DemoPlan f16 = testing::load_demo_plan("f16");
  auto session = logits_session(*f16.model);
  const std::span<const int32_t> text = std::span(g.tokens).subspan(1);

  // One window holding the whole golden sequence: the NLL PyTorch's logits give.
  double want = 0.0;
  for (size_t t = 0; t + 1 < g.tokens.size(); ++t) want += naive_nll(&g.logits[t * static_cast<size_t>(g.vocab)], g.vocab, g.tokens[t + 1]);
  want /= static_cast<double>(g.tokens.size() - 1);
  api::PerplexityOptions o;
  o.context = 256;
  o.bos = 0;
  auto r = api::score_perplexity(*session, nullptr, text, o);
  R1VK_REQUIRE_OK(r);
  std::printf("demo f16 mean NLL %.6f (PyTorch bf16/f32 %.6f), ppl %.5f\n", r->model.mean_nll, want, r->model.perplexity);
  CHECK(r->windows == 1);
  CHECK(r->tokens_scored == static_cast<int64_t>(text.size()));
  CHECK(r->has_reference == false);
  // f16 weights against PyTorch's f32 math on bf16 weights (cosine >= 0.999 per row, see
  // test_demo_model.cpp): the mean NLL agrees to within 5% or 0.005 nats.
  CHECK(std::abs(r->model.mean_nll - want) <= std::max(0.005, 0.05 * want));
  CHECK(r->model.perplexity == doctest::Approx(std::exp(r->model.mean_nll)));

  // Windows of 16 (BOS + 15 text tokens), each from a fresh start: the test feeds every window
  // on its own session and sums the NLL itself.
  o.context = 16;
  r = api::score_perplexity(*session, nullptr, text, o);
  REQUIRE(r.ok());
  auto direct = logits_session(*f16.model);
  double sum = 0.0;
  int64_t scored = 0, windows = 0;
  for (size_t b = 0; b < text.size(); b += 15) {
    std::vector<int32_t> win = {0};
    for (size_t i = b; i < std::min(text.size(), b + 15); ++i) win.push_back(text[i]);
    direct->reset();
    std::vector<float> logits;
    REQUIRE(direct->feed(win, {}, &logits).ok());
    for (size_t t = 0; t + 1 < win.size(); ++t) sum += naive_nll(&logits[t * static_cast<size_t>(g.vocab)], g.vocab, win[t + 1]);
    scored += static_cast<int64_t>(win.size()) - 1;
    ++windows;
  }
  CHECK(r->windows == windows);
  CHECK(r->tokens_scored == scored);
  CHECK(r->model.mean_nll == doctest::Approx(sum / static_cast<double>(scored)).epsilon(1e-9));
  // Restarting every 15 tokens loses context: the text gets harder to predict.
  CHECK(r->model.mean_nll > want);
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("KL of the demo model against itself is 0 with full agreement; q4 against f16 is small and positive") {
  const Golden g = read_golden();
  const std::span<const int32_t> text = std::span(g.tokens).subspan(1);
  testing::DemoPlan f16 = testing::load_demo_plan("f16");
  auto a = logits_session(*f16.model);
  auto b = logits_session(*f16.model);
  api::PerplexityOptions o;
  o.context = 64;  // two windows of the golden text
  o.bos = 0;
  auto self = api::score_perplexity(*a, b.get(), text, o);
  R1VK_REQUIRE_OK(self);
  CHECK(self->windows == 2);
  CHECK(self->has_reference);
  CHECK(self->mean_kl == 0.0);
  CHECK(self->max_kl == 0.0);
  CHECK(self->p99_kl == 0.0);
  CHECK(self->top1_agreement == 1.0);
  CHECK(self->reference.mean_nll == self->model.mean_nll);

  testing::DemoPlan q4 = testing::load_demo_plan("q4");
  auto c = logits_session(*q4.model);
  auto quant = api::score_perplexity(*c, a.get(), text, o);
  R1VK_REQUIRE_OK(quant);
  std::printf("demo q4 vs f16: KL mean %.5f p99 %.5f max %.5f, top-1 %.3f, ppl %.4f vs %.4f\n", quant->mean_kl, quant->p99_kl,
              quant->max_kl, quant->top1_agreement, quant->model.perplexity, quant->reference.perplexity);
  CHECK(quant->reference.mean_nll == doctest::Approx(self->model.mean_nll).epsilon(1e-12));
  CHECK(quant->mean_kl > 0.0);
  CHECK(quant->mean_kl < 0.1);
  CHECK(quant->max_kl >= quant->p99_kl);
  CHECK(quant->p99_kl >= 0.0);
  CHECK(quant->top1_agreement >= 0.9);
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("perplexity refuses too little text, a context beyond the session, and no room to score") {
  testing::DemoPlan f16 = testing::load_demo_plan("f16", 64, 16);
  auto s = logits_session(*f16.model);
  api::PerplexityOptions o;
  o.context = 32;
  o.bos = 0;
  const std::vector<int32_t> one = {7};
  auto r = api::score_perplexity(*s, nullptr, one, o);
  REQUIRE(!r.ok());
  CHECK(r.error().message().find("at least 2") != std::string::npos);
  const std::vector<int32_t> text = {7, 8, 9, 10};
  o.context = 65;
  r = api::score_perplexity(*s, nullptr, text, o);
  REQUIRE(!r.ok());
  CHECK(r.error().message().find("exceeds") != std::string::npos);
  o.context = 1;
  CHECK(!api::score_perplexity(*s, nullptr, text, o).ok());
}

}  // namespace
}  // namespace r1vk
