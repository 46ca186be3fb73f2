// moe_route against reference_moe.cpp route() for the R1/V3 (sigmoid, correction bias, sum of
// top-2 groups), V2 (softmax, max-of-group), V2-Lite (softmax, plain top-k) and tiny odd
// routers, plus exact ties (lower expert index wins). Ids must match exactly; weights within
// f32 exp/sum rounding (stated below).
#include <cstring>
#include <vector>

#include "attention_test_util.h"
#include "reference/reference_model.h"

namespace r1vk {
namespace {

using test::BufferPool;
using test::view;

struct RouteCase {
  const char* name;
  uint32_t experts, top_k, n_group, topk_group;
  bool sigmoid;
  uint32_t group_score;
  bool normalize, bias;
  float scaling;
  bool ties = false;  // every logit equal
};

void check_route(const RouteCase& c) {
  CAPTURE(c.name);
  BufferPool pool;
  const uint32_t T = 6, n_tokens = 5, stride = c.experts + 3, out_stride = c.top_k + 1;
  auto logits = test::random_floats(size_t{T} * stride, 81 + c.experts, -4, 4);
  if (c.ties) std::fill(logits.begin(), logits.end(), 0.5f);
  const auto bias = test::random_floats(c.experts, 82 + c.experts, -0.05f, 0.05f);
  const auto& bl = pool.upload(logits, "logits");
  const auto& bb = pool.upload(bias, "bias");
  const std::vector<float> fill(size_t{T} * out_stride, -7.0f);
  const auto& bids = pool.upload(fill, "ids");
  const auto& bw = pool.upload(fill, "weights");
  const auto step = pool.step({n_tokens, 0}, T);
  kernels::RouteArgs a;
  a.logits = view(bl, c.experts, stride);
  a.bias = c.bias ? bb.address() : 0;
  a.experts = c.experts;
  a.top_k = c.top_k;
  a.n_group = c.n_group;
  a.topk_group = c.topk_group;
  a.sigmoid = c.sigmoid;
  a.group_score = c.group_score;
  a.normalize = c.normalize;
  a.scaling = c.scaling;
  a.ids = view(bids, c.top_k, out_stride);
  a.weights = view(bw, c.top_k, out_stride);
  test::run_ok([&](vk::CommandBuffer& cmd) { return test::attention_kernels().record_moe_route(cmd, a, step); });
  const auto ids = test::download_as<int32_t>(bids, fill.size());
  const auto w = test::download_as<float>(bw, fill.size());

  MoeConfig m;
  m.n_routed_experts = c.experts;
  m.num_experts_per_tok = c.top_k;
  m.n_group = c.n_group;
  m.topk_group = c.topk_group;
  m.scoring_func = c.sigmoid ? ScoringFunc::kSigmoid : ScoringFunc::kSoftmax;
  m.topk_method = c.group_score == 2 ? TopkMethod::kNoauxTc
                                     : (c.group_score == 1 ? TopkMethod::kGroupLimitedGreedy : TopkMethod::kGreedy);
  m.norm_topk_prob = c.normalize;
  m.routed_scaling_factor = c.scaling;
  std::vector<float> want_w(fill.size(), -7.0f), got_w = w;
  size_t id_mismatches = 0, untouched_errors = 0;
  for (uint32_t t = 0; t < T; ++t) {
    if (t >= n_tokens) {
      for (uint32_t k = 0; k < out_stride; ++k) {
        int32_t fill_bits;
        std::memcpy(&fill_bits, &fill[0], 4);
        untouched_errors += ids[size_t{t} * out_stride + k] != fill_bits || w[size_t{t} * out_stride + k] != -7.0f;
      }
      continue;
    }
    const auto r = ref::route(m, std::span(logits).subspan(size_t{t} * stride, c.experts),
                              c.bias ? std::span<const float>(bias) : std::span<const float>());
    for (uint32_t k = 0; k < c.top_k; ++k) {
      id_mismatches += ids[size_t{t} * out_stride + k] != static_cast<int32_t>(r.experts[k]);
      want_w[size_t{t} * out_stride + k] = r.weights[k];
    }
  }
  CHECK(id_mismatches == 0);
  CHECK(untouched_errors == 0);
  // Sigmoid/softmax via device exp (a few ULP), f32 sums: relative error ~1e-6 of weights <= scaling.
  test::check_close(got_w, want_w, {1e-10, 2e-5 * c.scaling});
}

TEST_CASE("moe_route matches ref::route()") {
  check_route({"R1 (noaux_tc, sigmoid, bias, normalised)", 256, 8, 8, 4, true, 2, true, true, 2.5f});
  check_route({"V2 (group max, softmax)", 160, 6, 8, 3, false, 1, false, false, 16.0f});
  check_route({"V2-Lite (plain top-k, softmax)", 64, 6, 1, 1, false, 0, false, false, 1.0f});
  check_route({"tiny odd (sigmoid, no groups)", 7, 3, 1, 1, true, 0, true, false, 1.0f});
  check_route({"one expert per group, top-2 sum", 12, 2, 12, 5, true, 2, true, true, 1.0f});
  check_route({"top_k past the kept groups", 16, 10, 4, 2, true, 2, false, true, 1.0f});
  check_route({"exact ties go to the lower index", 64, 6, 8, 3, true, 2, true, false, 1.0f, true});
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("moe_route rejects bad configurations") {
  BufferPool pool;
  const auto& b = pool.zeros(1 << 14, "b");
  const auto step = pool.step({1, 0}, 1);
  auto cmd = test::context().create_command_buffer();
  REQUIRE(cmd.ok());
  REQUIRE(cmd->begin().ok());
  kernels::RouteArgs a;
  a.logits = view(b, 10, 10);
  a.ids = view(b, 3, 3);
  a.weights = view(b, 3, 3);
  a.experts = 10;
  a.top_k = 3;
  a.n_group = 3;  // does not divide 10
  a.topk_group = 1;
  a.group_score = 2;
  CHECK_FALSE(test::attention_kernels().record_moe_route(*cmd, a, step).ok());
  a.n_group = 1;
  a.top_k = 11;
  CHECK_FALSE(test::attention_kernels().record_moe_route(*cmd, a, step).ok());
  REQUIRE(cmd->end().ok());
}

}  // namespace
}  // namespace r1vk
