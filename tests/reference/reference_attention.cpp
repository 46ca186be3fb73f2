// Attention of the reference forward pass: naive MLA (DeepSeek) and GQA (distills).
#include <cmath>
#include <string>

#include "reference/reference_model.h"
#include "reference/reference_ops.h"
#include "reference/reference_state.h"

namespace r1vk::ref {
namespace {

// out[h] = sum_t softmax_t(scale * q[h]·k[t][kv(h)]) v[t][kv(h)] over t = 0..pos.
void attend(std::span<const float> q, const ReferenceModel::LayerState& s, int64_t heads, int64_t kv_heads,
            int64_t kdim, int64_t vdim, double scale, std::span<float> out) {
  const size_t n = s.keys.size();
  std::vector<float> p(n);
  for (int64_t h = 0; h < heads; ++h) {
    const int64_t g = h / (heads / kv_heads);
    for (size_t t = 0; t < n; ++t) {
      const float* k = s.keys[t].data() + g * kdim;
      double dot = 0.0;
      for (int64_t d = 0; d < kdim; ++d) dot += static_cast<double>(q[h * kdim + d]) * k[d];
      p[t] = static_cast<float>(dot * scale);
    }
    softmax(p);
    for (int64_t d = 0; d < vdim; ++d) {
      double acc = 0.0;
      for (size_t t = 0; t < n; ++t) acc += static_cast<double>(p[t]) * s.values[t][g * vdim + d];
      out[h * vdim + d] = static_cast<float>(acc);
    }
  }
}

}  // namespace

void ReferenceModel::attention_mla(int64_t layer, std::span<const float> x, int64_t pos, LayerState& state,
                                   std::span<float> out) const {
  const std::string p = "model.layers." + std::to_string(layer) + ".self_attn.";
  const MlaConfig& m = config_.mla;
  const int64_t H = config_.num_attention_heads, hid = config_.hidden_size;
  const int64_t dn = m.qk_nope_head_dim, dr = m.qk_rope_head_dim, dv = m.v_head_dim, c = m.kv_lora_rank;
  // HF and the official code build q_a_layernorm / kv_a_layernorm with RMSNorm's default eps 1e-6.
  constexpr float kLatentNormEps = 1e-6f;

  std::vector<float> q(static_cast<size_t>(H * (dn + dr)));
  if (m.q_lora_rank > 0) {
    std::vector<float> qa(static_cast<size_t>(m.q_lora_rank)), qn(qa.size());
    matvec(w(p + "q_a_proj.weight"), m.q_lora_rank, hid, x, qa);
    rmsnorm(qa, w(p + "q_a_layernorm.weight"), kLatentNormEps, qn);
    matvec(w(p + "q_b_proj.weight"), H * (dn + dr), m.q_lora_rank, qn, q);
  } else {
    matvec(w(p + "q_proj.weight"), H * (dn + dr), hid, x, q);
  }
  for (int64_t h = 0; h < H; ++h) {
    apply_rope(std::span<float>(q.data() + h * (dn + dr) + dn, static_cast<size_t>(dr)), rope_freqs_, pos,
               RopeStyle::kInterleaved, rope_magnitude_);
  }

  std::vector<float> kv(static_cast<size_t>(c + dr)), latent(static_cast<size_t>(c));
  matvec(w(p + "kv_a_proj_with_mqa.weight"), c + dr, hid, x, kv);
  rmsnorm(std::span<const float>(kv.data(), static_cast<size_t>(c)), w(p + "kv_a_layernorm.weight"), kLatentNormEps, latent);
  std::span<float> k_pe(kv.data() + c, static_cast<size_t>(dr));
  apply_rope(k_pe, rope_freqs_, pos, RopeStyle::kInterleaved, rope_magnitude_);

  // Expand the latent into per-head [k_nope | v] rows, as kv_b_proj is laid out.
  std::vector<float> kvb(static_cast<size_t>(H * (dn + dv)));
  matvec(w(p + "kv_b_proj.weight"), H * (dn + dv), c, latent, kvb);
  std::vector<float> key(static_cast<size_t>(H * (dn + dr))), value(static_cast<size_t>(H * dv));
  for (int64_t h = 0; h < H; ++h) {
    for (int64_t d = 0; d < dn; ++d) key[h * (dn + dr) + d] = kvb[h * (dn + dv) + d];
    for (int64_t d = 0; d < dr; ++d) key[h * (dn + dr) + dn + d] = k_pe[d];  // shared by all heads
    for (int64_t d = 0; d < dv; ++d) value[h * dv + d] = kvb[h * (dn + dv) + dn + d];
  }
  state.keys.push_back(std::move(key));
  state.values.push_back(std::move(value));

  std::vector<float> o(static_cast<size_t>(H * dv));
  attend(q, state, H, H, dn + dr, dv, mla_softmax_scale(config_), o);
  matvec(w(p + "o_proj.weight"), hid, H * dv, o, out);
}

void ReferenceModel::attention_gqa(int64_t layer, std::span<const float> x, int64_t pos, LayerState& state,
                                   std::span<float> out) const {
  const std::string p = "model.layers." + std::to_string(layer) + ".self_attn.";
  const int64_t H = config_.num_attention_heads, KV = config_.num_key_value_heads, d = config_.head_dim;
  const int64_t hid = config_.hidden_size;
  std::vector<float> q(static_cast<size_t>(H * d)), k(static_cast<size_t>(KV * d)), v(k.size());
  matvec(w(p + "q_proj.weight"), H * d, hid, x, q);
  matvec(w(p + "k_proj.weight"), KV * d, hid, x, k);
  matvec(w(p + "v_proj.weight"), KV * d, hid, x, v);
  if (config_.attention_qkv_bias) {
    add(q, w(p + "q_proj.bias"), q);
    add(k, w(p + "k_proj.bias"), k);
    add(v, w(p + "v_proj.bias"), v);
  }
  for (int64_t h = 0; h < H; ++h) {
    apply_rope(std::span<float>(q.data() + h * d, static_cast<size_t>(d)), rope_freqs_, pos, RopeStyle::kNeox, rope_magnitude_);
  }
  for (int64_t h = 0; h < KV; ++h) {
    apply_rope(std::span<float>(k.data() + h * d, static_cast<size_t>(d)), rope_freqs_, pos, RopeStyle::kNeox, rope_magnitude_);
  }
  state.keys.push_back(std::move(k));
  state.values.push_back(std::move(v));
  std::vector<float> o(static_cast<size_t>(H * d));
  attend(q, state, H, KV, d, d, 1.0 / std::sqrt(static_cast<double>(d)), o);
  matvec(w(p + "o_proj.weight"), hid, H * d, o, out);
}

}  // namespace r1vk::ref
