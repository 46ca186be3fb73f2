// One Qwen2 / Llama decoder block: fused q|k|v projection (with Qwen2's biases), NeoX RoPE,
// grouped-query attention over a K/V cache, fused gate|up SwiGLU MLP.
#include <cmath>

#include "graph/graph_builder.h"

namespace r1vk {

using plan::OpKind;

void build_dense_layer(ProgramBuilder& b, const ModelConfig& c, int64_t layer, int32_t h, int32_t x) {
  const std::string L = "layers." + std::to_string(layer);
  const std::string src = "model.layers." + std::to_string(layer) + ".";
  const std::string at = src + "self_attn.";
  const int64_t H = c.num_attention_heads, KV = c.num_key_value_heads, d = c.head_dim;
  const int64_t qkv_width = (H + 2 * KV) * d;

  b.rmsnorm(L + ".attn_norm", src + "input_layernorm.weight", b.all(h), b.all(x), c.rms_norm_eps);
  const int32_t qkv = b.value(L + ".qkv", qkv_width);
  b.linear(L + ".attn.qkv", L + ".attn.qkv", {at + "q_proj.weight", at + "k_proj.weight", at + "v_proj.weight"}, qkv_width,
           b.all(x), b.all(qkv), false, WeightRole::kLinear, {H * d, KV * d, KV * d});
  if (c.attention_qkv_bias) {
    WeightSpec bias;
    bias.name = L + ".attn.qkv_bias";
    bias.sources = {at + "q_proj.bias", at + "k_proj.bias", at + "v_proj.bias"};
    bias.transform = WeightTransform::kConcatRows;
    bias.role = WeightRole::kBias;
    bias.rows = qkv_width;  // a column: the parts stack like the matrix rows they belong to
    bias.cols = 1;
    bias.source_rows = {H * d, KV * d, KV * d};
    b.ops_back().weights.push_back(b.weight(bias));
  }
  auto& rq = b.op(OpKind::kRope, L + ".attn.q_rope", {b.cols(qkv, 0, H * d)}, {b.cols(qkv, 0, H * d)});
  rq.ints = {{"heads", H}, {"head_stride", d}, {"offset", 0}, {"dim", d}, {"interleaved", 0}};
  auto& rk = b.op(OpKind::kRope, L + ".attn.k_rope", {b.cols(qkv, H * d, KV * d)}, {b.cols(qkv, H * d, KV * d)});
  rk.ints = {{"heads", KV}, {"head_stride", d}, {"offset", 0}, {"dim", d}, {"interleaved", 0}};
  auto& store = b.op(OpKind::kGqaKvStore, L + ".attn.kv_store", {b.cols(qkv, H * d, 2 * KV * d)}, {});
  store.ints = {{"layer", layer}, {"kv_heads", KV}, {"head_dim", d}};
  const int32_t o = b.value(L + ".attn_out", H * d);
  auto& attn = b.op(OpKind::kGqaAttention, L + ".attn.core", {b.cols(qkv, 0, H * d)}, {b.all(o)});
  attn.ints = {{"layer", layer}, {"heads", H}, {"kv_heads", KV}, {"head_dim", d}};
  attn.reals["scale"] = 1.0 / std::sqrt(static_cast<double>(d));
  b.linear(L + ".attn.o", L + ".attn.o", {at + "o_proj.weight"}, c.hidden_size, b.all(o), b.all(h), true);

  b.rmsnorm(L + ".ffn_norm", src + "post_attention_layernorm.weight", b.all(h), b.all(x), c.rms_norm_eps);
  b.swiglu_mlp(L + ".mlp", src + "mlp.", c.intermediate_size, x, h, c.hidden_size);
}

}  // namespace r1vk
