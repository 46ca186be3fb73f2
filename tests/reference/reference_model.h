// The plain CPU reference forward pass of every supported architecture, written directly from
// MODEL_SPEC.md §2: naive MLA (k and v expanded from the latent, not the absorbed form), router
// and experts in f32, GQA attention for the distills. Slow and simple on purpose: it is the
// oracle the compiled Vulkan forward pass is compared against.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "import/model_config.h"
#include "import/weight_source.h"

namespace r1vk::ref {

using r1vk::WeightFn;

// The experts one token was routed to, with their (unbiased, normalised, scaled) weights.
struct RouteChoice {
  std::vector<int64_t> experts;
  std::vector<float> weights;
};

// MoE routing of one token's router logits (MODEL_SPEC.md §2 "MoE router").
RouteChoice route(const MoeConfig& moe, std::span<const float> router_logits, std::span<const float> correction_bias);

class ReferenceModel {
 public:
  // Loads every tensor the forward pass reads (main layers, and the MTP layer when present).
  static Result<ReferenceModel> load(const ModelConfig& config, const WeightFn& weights);

  // Logits [tokens.size(), vocab] row-major: row i follows token i (causal, positions 0..n-1).
  // When final_hidden is given it receives the hidden states after the final norm, [n, hidden].
  Result<std::vector<float>> forward(std::span<const int32_t> tokens, std::vector<float>* final_hidden = nullptr) const;

  // MTP draft logits [n-1, vocab]: row i drafts token i+2 from the main model's normed hidden
  // state at position i and token i+1, run at position i through the MTP block with its own
  // causal cache (vLLM/SGLang convention; the embedding is zeroed at position 0).
  Result<std::vector<float>> mtp_forward(std::span<const int32_t> tokens) const;

  const ModelConfig& config() const { return config_; }

  struct LayerState;  // per-layer KV history during one forward call

 private:
  using Weights = std::map<std::string, std::vector<float>>;

  Status load_layer(int64_t layer, const WeightFn& weights);
  Status load_tensor(const WeightFn& weights, const std::string& name, int64_t numel);
  const std::vector<float>& w(const std::string& name) const;

  // One decoder block for the token at `pos`: h += attn(norm(h)); h += ffn(norm(h)).
  void block(int64_t layer, std::span<float> h, int64_t pos, LayerState& state) const;
  void attention_mla(int64_t layer, std::span<const float> x, int64_t pos, LayerState& state, std::span<float> out) const;
  void attention_gqa(int64_t layer, std::span<const float> x, int64_t pos, LayerState& state, std::span<float> out) const;
  void mlp(const std::string& prefix, int64_t width, std::span<const float> x, std::span<float> out) const;
  void moe(int64_t layer, std::span<const float> x, std::span<float> out) const;
  void lm_head(const std::string& norm_name, const std::string& head_name, std::span<const float> h, std::span<float> logits) const;
  Status check_tokens(std::span<const int32_t> tokens) const;

  ModelConfig config_;
  Weights weights_;
  std::vector<double> rope_freqs_;
  double rope_magnitude_ = 1.0;
};

}  // namespace r1vk::ref
