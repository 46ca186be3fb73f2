// Feed-forward parts of the reference forward pass: SwiGLU MLP, MoE router and expert mixture.
#include <algorithm>
#include <cmath>
#include <limits>
#include <numeric>
#include <string>

#include "reference/reference_model.h"
#include "reference/reference_ops.h"

namespace r1vk::ref {
namespace {

// Indices of the k largest values, largest first; ties go to the lower index (as torch.topk on CPU).
std::vector<int64_t> top_k(std::span<const float> v, int64_t k) {
  std::vector<int64_t> idx(v.size());
  std::iota(idx.begin(), idx.end(), 0);
  std::stable_sort(idx.begin(), idx.end(), [&](int64_t a, int64_t b) { return v[a] > v[b]; });
  idx.resize(static_cast<size_t>(std::min<int64_t>(k, static_cast<int64_t>(v.size()))));
  return idx;
}

}  // namespace

RouteChoice route(const MoeConfig& moe, std::span<const float> router_logits, std::span<const float> correction_bias) {
  const int64_t E = moe.n_routed_experts;
  std::vector<float> scores(router_logits.begin(), router_logits.end());
  if (moe.scoring_func == ScoringFunc::kSigmoid) {
    for (float& s : scores) s = 1.0f / (1.0f + std::exp(-s));
  } else {
    softmax(scores);
  }
  // The correction bias steers selection only; the weights below use the unbiased scores.
  std::vector<float> sel = scores;
  if (!correction_bias.empty()) {
    for (int64_t e = 0; e < E; ++e) sel[e] += correction_bias[e];
  }
  if (moe.n_group > 1 && moe.topk_method != TopkMethod::kGreedy) {
    const int64_t per_group = E / moe.n_group;
    std::vector<float> group_score(static_cast<size_t>(moe.n_group));
    for (int64_t g = 0; g < moe.n_group; ++g) {
      std::span<const float> members(sel.data() + g * per_group, static_cast<size_t>(per_group));
      if (moe.topk_method == TopkMethod::kNoauxTc) {
        float sum = 0.0f;
        for (int64_t i : top_k(members, 2)) sum += members[i];
        group_score[g] = sum;
      } else {
        group_score[g] = *std::max_element(members.begin(), members.end());
      }
    }
    std::vector<bool> keep(static_cast<size_t>(moe.n_group), false);
    for (int64_t g : top_k(group_score, moe.topk_group)) keep[g] = true;
    for (int64_t e = 0; e < E; ++e) {
      if (!keep[e / per_group]) sel[e] = -std::numeric_limits<float>::infinity();
    }
  }
  RouteChoice r;
  r.experts = top_k(sel, moe.num_experts_per_tok);
  for (int64_t e : r.experts) r.weights.push_back(scores[e]);
  if (moe.norm_topk_prob) {
    double sum = 0.0;
    for (float x : r.weights) sum += x;
    for (float& x : r.weights) x = static_cast<float>(x / (sum + 1e-20));
  }
  for (float& x : r.weights) x *= static_cast<float>(moe.routed_scaling_factor);
  return r;
}

void ReferenceModel::mlp(const std::string& prefix, int64_t width, std::span<const float> x, std::span<float> out) const {
  const int64_t hid = config_.hidden_size;
  std::vector<float> g(static_cast<size_t>(width)), u(g.size());
  matvec(w(prefix + "gate_proj.weight"), width, hid, x, g);
  matvec(w(prefix + "up_proj.weight"), width, hid, x, u);
  swiglu(g, u, g);
  matvec(w(prefix + "down_proj.weight"), hid, width, g, out);
}

void ReferenceModel::moe(int64_t layer, std::span<const float> x, std::span<float> out) const {
  const std::string p = "model.layers." + std::to_string(layer) + ".mlp.";
  const MoeConfig& m = config_.moe;
  std::vector<float> logits(static_cast<size_t>(m.n_routed_experts));
  matvec(w(p + "gate.weight"), m.n_routed_experts, config_.hidden_size, x, logits);
  std::span<const float> bias;
  if (m.has_correction_bias) bias = w(p + "gate.e_score_correction_bias");
  const RouteChoice r = route(m, logits, bias);

  std::fill(out.begin(), out.end(), 0.0f);
  std::vector<float> y(out.size());
  for (size_t k = 0; k < r.experts.size(); ++k) {
    mlp(p + "experts." + std::to_string(r.experts[k]) + ".", m.moe_intermediate_size, x, y);
    for (size_t i = 0; i < out.size(); ++i) out[i] += r.weights[k] * y[i];
  }
  if (m.n_shared_experts > 0) {
    mlp(p + "shared_experts.", m.n_shared_experts * m.moe_intermediate_size, x, y);
    add(out, y, out);
  }
}

}  // namespace r1vk::ref
