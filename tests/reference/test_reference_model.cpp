#include <doctest/doctest.h>

#include <cmath>
#include <random>
#include <string>
#include <vector>

#include "reference/reference_model.h"
#include "reference/test_configs.h"

namespace r1vk::ref {
namespace {

using testing::random_weights;
using testing::tiny_deepseek_v3;
using testing::tiny_qwen2;

TEST_CASE("router: the correction bias picks experts but never weighs them") {
  MoeConfig m;
  m.n_routed_experts = 8;
  m.num_experts_per_tok = 2;
  m.n_group = 4;
  m.topk_group = 2;
  m.scoring_func = ScoringFunc::kSigmoid;
  m.topk_method = TopkMethod::kNoauxTc;
  m.norm_topk_prob = true;
  m.routed_scaling_factor = 2.5;
  // Expert 0 scores best, but a large bias on experts 6 and 7 makes group 3 and them win.
  std::vector<float> logits = {3.0f, 0.0f, 0.5f, 0.0f, 0.0f, 0.0f, -1.0f, -2.0f};
  std::vector<float> bias = {0, 0, 0, 0, 0, 0, 5.0f, 5.0f};
  RouteChoice r = route(m, logits, bias);
  REQUIRE(r.experts == std::vector<int64_t>{6, 7});
  const float s6 = 1.0f / (1.0f + std::exp(1.0f)), s7 = 1.0f / (1.0f + std::exp(2.0f));
  CHECK(r.weights[0] == doctest::Approx(2.5 * s6 / (s6 + s7)));
  CHECK(r.weights[1] == doctest::Approx(2.5 * s7 / (s6 + s7)));

  // Without bias, groups 0 (3.0+0) and 1 (0.5+0) win, and the top-2 inside them are 0 and 2.
  r = route(m, logits, {});
  CHECK(r.experts == std::vector<int64_t>{0, 2});
}

TEST_CASE("router: V2 groups score by their best expert; softmax weights are not renormalised") {
  MoeConfig m;
  m.n_routed_experts = 6;
  m.num_experts_per_tok = 2;
  m.n_group = 3;
  m.topk_group = 1;
  m.scoring_func = ScoringFunc::kSoftmax;
  m.topk_method = TopkMethod::kGroupLimitedGreedy;
  m.routed_scaling_factor = 16.0;
  // Group sums would favour group 1 (1.9+1.9), but max favours group 2 (2.0).
  std::vector<float> logits = {0.0f, 0.0f, 1.9f, 1.9f, 2.0f, -3.0f};
  RouteChoice r = route(m, logits, {});
  REQUIRE(r.experts == std::vector<int64_t>{4, 5});
  double z = 0;
  for (float l : logits) z += std::exp(l);
  CHECK(r.weights[0] == doctest::Approx(16.0 * std::exp(2.0) / z));

  m.topk_method = TopkMethod::kGreedy;  // plain top-k ignores groups
  CHECK(route(m, logits, {}).experts == std::vector<int64_t>{4, 2});
}

void check_causal(const ModelConfig& config) {
  auto model = ReferenceModel::load(config, random_weights(7));
  REQUIRE(model.ok());
  std::vector<int32_t> tokens = {5, 17, 0, 42, 9, 33, 1};
  auto full = model->forward(tokens);
  REQUIRE(full.ok());
  for (float v : *full) REQUIRE(std::isfinite(v));
  std::vector<int32_t> prefix(tokens.begin(), tokens.begin() + 4);
  auto part = model->forward(prefix);
  REQUIRE(part.ok());
  const size_t vocab = static_cast<size_t>(config.vocab_size);
  for (size_t i = 0; i < part->size(); ++i) REQUIRE((*part)[i] == (*full)[i]);
  // A later token does change later logits (the model is not degenerate).
  bool differs = false;
  for (size_t i = 0; i < vocab; ++i) differs |= (*full)[vocab + i] != (*full)[4 * vocab + i];
  CHECK(differs);
}

TEST_CASE("reference forward is causal and finite for DeepSeek-V3 and Qwen2 shapes") {
  check_causal(tiny_deepseek_v3());
  check_causal(tiny_qwen2());
}

TEST_CASE("reference forward rejects tokens outside the vocabulary") {
  auto model = ReferenceModel::load(tiny_qwen2(), random_weights(1));
  REQUIRE(model.ok());
  std::vector<int32_t> bad = {3, 101};
  auto r = model->forward(bad);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message() == "token 101 at index 1 is outside the vocabulary of 101");
}

TEST_CASE("reference load names a missing tensor") {
  WeightFn missing = [](const std::string& name, int64_t) -> Result<std::vector<float>> {
    return make_error(ErrorCode::kNotFound, "no tensor " + name);
  };
  auto r = ReferenceModel::load(tiny_qwen2(), missing);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message() == "reference model: no tensor model.embed_tokens.weight");
}

TEST_CASE("MTP drafts one row per position after the first") {
  auto model = ReferenceModel::load(tiny_deepseek_v3(), random_weights(3));
  REQUIRE(model.ok());
  std::vector<int32_t> tokens = {1, 2, 3, 4};
  auto d = model->mtp_forward(tokens);
  REQUIRE(d.ok());
  CHECK(d->size() == 3u * 97u);
}

}  // namespace
}  // namespace r1vk::ref
