#include "reference/reference_model.h"

#include <cstdio>
#include <utility>

#include "reference/reference_ops.h"
#include "reference/reference_state.h"

namespace r1vk::ref {
namespace {

std::string layer_prefix(int64_t layer) { return "model.layers." + std::to_string(layer) + "."; }

}  // namespace

Status ReferenceModel::load_tensor(const WeightFn& weights, const std::string& name, int64_t numel) {
  auto t = weights(name, numel);
  if (!t.ok()) return std::move(t).error().with_context("reference model");
  if (static_cast<int64_t>(t->size()) != numel) {
    return make_error(ErrorCode::kCorruptData, "reference model: tensor " + name + " has " +
                                                   std::to_string(t->size()) + " elements, expected " +
                                                   std::to_string(numel));
  }
  weights_[name] = std::move(t).value();
  return ok_status();
}

const std::vector<float>& ReferenceModel::w(const std::string& name) const {
  auto it = weights_.find(name);
  if (it == weights_.end()) {
    // load() fetched every tensor the forward pass names; reaching here is a bug in this file.
    std::fprintf(stderr, "reference model: tensor %s was not loaded\n", name.c_str());
    std::abort();
  }
  return it->second;
}

Status ReferenceModel::load_layer(int64_t layer, const WeightFn& weights) {
  const ModelConfig& c = config_;
  const std::string p = layer_prefix(layer);
  const int64_t hid = c.hidden_size;
  R1VK_TRY(load_tensor(weights, p + "input_layernorm.weight", hid));
  R1VK_TRY(load_tensor(weights, p + "post_attention_layernorm.weight", hid));
  if (c.is_deepseek()) {
    const MlaConfig& m = c.mla;
    const int64_t h = c.num_attention_heads;
    const int64_t qk = m.qk_nope_head_dim + m.qk_rope_head_dim;
    if (m.q_lora_rank > 0) {
      R1VK_TRY(load_tensor(weights, p + "self_attn.q_a_proj.weight", m.q_lora_rank * hid));
      R1VK_TRY(load_tensor(weights, p + "self_attn.q_a_layernorm.weight", m.q_lora_rank));
      R1VK_TRY(load_tensor(weights, p + "self_attn.q_b_proj.weight", h * qk * m.q_lora_rank));
    } else {
      R1VK_TRY(load_tensor(weights, p + "self_attn.q_proj.weight", h * qk * hid));
    }
    R1VK_TRY(load_tensor(weights, p + "self_attn.kv_a_proj_with_mqa.weight", (m.kv_lora_rank + m.qk_rope_head_dim) * hid));
    R1VK_TRY(load_tensor(weights, p + "self_attn.kv_a_layernorm.weight", m.kv_lora_rank));
    R1VK_TRY(load_tensor(weights, p + "self_attn.kv_b_proj.weight", h * (m.qk_nope_head_dim + m.v_head_dim) * m.kv_lora_rank));
    R1VK_TRY(load_tensor(weights, p + "self_attn.o_proj.weight", hid * h * m.v_head_dim));
  } else {
    const int64_t q = c.num_attention_heads * c.head_dim, kv = c.num_key_value_heads * c.head_dim;
    R1VK_TRY(load_tensor(weights, p + "self_attn.q_proj.weight", q * hid));
    R1VK_TRY(load_tensor(weights, p + "self_attn.k_proj.weight", kv * hid));
    R1VK_TRY(load_tensor(weights, p + "self_attn.v_proj.weight", kv * hid));
    R1VK_TRY(load_tensor(weights, p + "self_attn.o_proj.weight", hid * q));
    if (c.attention_qkv_bias) {
      R1VK_TRY(load_tensor(weights, p + "self_attn.q_proj.bias", q));
      R1VK_TRY(load_tensor(weights, p + "self_attn.k_proj.bias", kv));
      R1VK_TRY(load_tensor(weights, p + "self_attn.v_proj.bias", kv));
    }
  }
  auto load_mlp = [&](const std::string& mp, int64_t width) -> Status {
    R1VK_TRY(load_tensor(weights, mp + "gate_proj.weight", width * hid));
    R1VK_TRY(load_tensor(weights, mp + "up_proj.weight", width * hid));
    R1VK_TRY(load_tensor(weights, mp + "down_proj.weight", hid * width));
    return ok_status();
  };
  if (!c.is_moe_layer(layer)) return load_mlp(p + "mlp.", c.intermediate_size);
  const MoeConfig& moe = c.moe;
  R1VK_TRY(load_tensor(weights, p + "mlp.gate.weight", moe.n_routed_experts * hid));
  if (moe.has_correction_bias) R1VK_TRY(load_tensor(weights, p + "mlp.gate.e_score_correction_bias", moe.n_routed_experts));
  for (int64_t e = 0; e < moe.n_routed_experts; ++e) {
    R1VK_TRY(load_mlp(p + "mlp.experts." + std::to_string(e) + ".", moe.moe_intermediate_size));
  }
  if (moe.n_shared_experts > 0) R1VK_TRY(load_mlp(p + "mlp.shared_experts.", moe.n_shared_experts * moe.moe_intermediate_size));
  return ok_status();
}

Result<ReferenceModel> ReferenceModel::load(const ModelConfig& config, const WeightFn& weights) {
  ReferenceModel m;
  m.config_ = config;
  const int64_t vh = config.vocab_size * config.hidden_size;
  R1VK_TRY(m.load_tensor(weights, "model.embed_tokens.weight", vh));
  R1VK_TRY(m.load_tensor(weights, "model.norm.weight", config.hidden_size));
  if (!config.tie_word_embeddings) R1VK_TRY(m.load_tensor(weights, "lm_head.weight", vh));
  for (int64_t l = 0; l < config.num_hidden_layers + config.num_nextn_predict_layers; ++l) R1VK_TRY(m.load_layer(l, weights));
  if (config.num_nextn_predict_layers > 0) {
    const std::string p = layer_prefix(config.num_hidden_layers);
    R1VK_TRY(m.load_tensor(weights, p + "enorm.weight", config.hidden_size));
    R1VK_TRY(m.load_tensor(weights, p + "hnorm.weight", config.hidden_size));
    R1VK_TRY(m.load_tensor(weights, p + "eh_proj.weight", config.hidden_size * 2 * config.hidden_size));
    R1VK_TRY(m.load_tensor(weights, p + "shared_head.norm.weight", config.hidden_size));
    R1VK_TRY(m.load_tensor(weights, p + "shared_head.head.weight", vh));
    R1VK_TRY(m.load_tensor(weights, p + "embed_tokens.weight", vh));
  }
  m.rope_freqs_ = rope_frequencies(config.rope_scaling, config.rope_theta, config.rope_dim());
  m.rope_magnitude_ = rope_magnitude(config.rope_scaling);
  return m;
}

Status ReferenceModel::check_tokens(std::span<const int32_t> tokens) const {
  for (size_t i = 0; i < tokens.size(); ++i) {
    if (tokens[i] < 0 || tokens[i] >= config_.vocab_size) {
      return make_error(ErrorCode::kInvalidArgument, "token " + std::to_string(tokens[i]) + " at index " +
                                                         std::to_string(i) + " is outside the vocabulary of " +
                                                         std::to_string(config_.vocab_size));
    }
  }
  return ok_status();
}

void ReferenceModel::block(int64_t layer, std::span<float> h, int64_t pos, LayerState& state) const {
  const std::string p = layer_prefix(layer);
  const size_t hid = h.size();
  const float eps = static_cast<float>(config_.rms_norm_eps);
  std::vector<float> x(hid), y(hid);
  rmsnorm(h, w(p + "input_layernorm.weight"), eps, x);
  if (config_.is_deepseek()) {
    attention_mla(layer, x, pos, state, y);
  } else {
    attention_gqa(layer, x, pos, state, y);
  }
  add(h, y, h);
  rmsnorm(h, w(p + "post_attention_layernorm.weight"), eps, x);
  if (config_.is_moe_layer(layer)) {
    moe(layer, x, y);
  } else {
    mlp(p + "mlp.", config_.intermediate_size, x, y);
  }
  add(h, y, h);
}

void ReferenceModel::lm_head(const std::string& norm_name, const std::string& head_name, std::span<const float> h,
                             std::span<float> logits) const {
  std::vector<float> x(h.size());
  rmsnorm(h, w(norm_name), static_cast<float>(config_.rms_norm_eps), x);
  matvec(w(head_name), config_.vocab_size, config_.hidden_size, x, logits);
}

Result<std::vector<float>> ReferenceModel::forward(std::span<const int32_t> tokens, std::vector<float>* final_hidden) const {
  R1VK_TRY(check_tokens(tokens));
  const int64_t n = static_cast<int64_t>(tokens.size()), hid = config_.hidden_size, vocab = config_.vocab_size;
  const std::string head = config_.tie_word_embeddings ? "model.embed_tokens.weight" : "lm_head.weight";
  std::vector<LayerState> states(static_cast<size_t>(config_.num_hidden_layers));
  std::vector<float> logits(static_cast<size_t>(n * vocab));
  if (final_hidden) final_hidden->assign(static_cast<size_t>(n * hid), 0.0f);
  const auto& embed = w("model.embed_tokens.weight");
  for (int64_t i = 0; i < n; ++i) {
    std::vector<float> h(embed.begin() + tokens[i] * hid, embed.begin() + (tokens[i] + 1) * hid);
    for (int64_t l = 0; l < config_.num_hidden_layers; ++l) block(l, h, i, states[l]);
    std::span<float> row(logits.data() + i * vocab, static_cast<size_t>(vocab));
    lm_head("model.norm.weight", head, h, row);
    if (final_hidden) rmsnorm(h, w("model.norm.weight"), static_cast<float>(config_.rms_norm_eps),
                              std::span<float>(final_hidden->data() + i * hid, static_cast<size_t>(hid)));
  }
  return logits;
}

Result<std::vector<float>> ReferenceModel::mtp_forward(std::span<const int32_t> tokens) const {
  if (config_.num_nextn_predict_layers == 0) {
    return make_error(ErrorCode::kUnsupported, "the model has no MTP layer (num_nextn_predict_layers is 0)");
  }
  std::vector<float> hidden;
  R1VK_ASSIGN_OR_RETURN(auto main_logits, forward(tokens, &hidden));
  (void)main_logits;
  const int64_t n = static_cast<int64_t>(tokens.size()), hid = config_.hidden_size, vocab = config_.vocab_size;
  const int64_t layer = config_.num_hidden_layers;
  const std::string p = layer_prefix(layer);
  const float eps = static_cast<float>(config_.rms_norm_eps);
  const auto& embed = w(p + "embed_tokens.weight");
  LayerState state;
  std::vector<float> logits(static_cast<size_t>(std::max<int64_t>(n - 1, 0) * vocab));
  std::vector<float> cat(static_cast<size_t>(2 * hid)), x(static_cast<size_t>(hid));
  for (int64_t i = 0; i + 1 < n; ++i) {
    std::span<float> e_half(cat.data(), static_cast<size_t>(hid)), h_half(cat.data() + hid, static_cast<size_t>(hid));
    if (i == 0) {
      std::fill(e_half.begin(), e_half.end(), 0.0f);  // rmsnorm(0) == 0
    } else {
      std::span<const float> e(embed.data() + tokens[i + 1] * hid, static_cast<size_t>(hid));
      rmsnorm(e, w(p + "enorm.weight"), eps, e_half);
    }
    rmsnorm(std::span<const float>(hidden.data() + i * hid, static_cast<size_t>(hid)), w(p + "hnorm.weight"), eps, h_half);
    matvec(w(p + "eh_proj.weight"), hid, 2 * hid, cat, x);
    block(layer, x, i, state);
    lm_head(p + "shared_head.norm.weight", p + "shared_head.head.weight", x,
            std::span<float>(logits.data() + i * vocab, static_cast<size_t>(vocab)));
  }
  return logits;
}

}  // namespace r1vk::ref
