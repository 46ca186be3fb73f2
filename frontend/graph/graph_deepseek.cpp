// One DeepSeek decoder block in its absorbed MLA form (MODEL_SPEC §2): the cache holds only the
// normed latent and the rotated k_pe; q_nope is folded into latent space with kv_b_proj's K half
// and the attention output is expanded with its V half.
#include "graph/graph_builder.h"
#include "import/rope_frequencies.h"

namespace r1vk {

using plan::OpKind;

namespace {

// HF and the official code build q_a_layernorm / kv_a_layernorm with RMSNorm's default eps.
constexpr double kLatentNormEps = 1e-6;

void build_mla(ProgramBuilder& b, const ModelConfig& c, int64_t layer, int32_t h, int32_t x) {
  const std::string L = "layers." + std::to_string(layer);
  const std::string src = "model.layers." + std::to_string(layer) + ".self_attn.";
  const MlaConfig& m = c.mla;
  const int64_t H = c.num_attention_heads, dn = m.qk_nope_head_dim, dr = m.qk_rope_head_dim, dv = m.v_head_dim;
  const int64_t kc = m.kv_lora_rank, qk = dn + dr;

  const int32_t q = b.value(L + ".q", H * qk);
  if (m.q_lora_rank > 0) {
    const int32_t qa = b.value(L + ".q_a", m.q_lora_rank);
    const int32_t qa_n = b.value(L + ".q_a_normed", m.q_lora_rank);
    b.linear(L + ".attn.q_a", L + ".attn.q_a", {src + "q_a_proj.weight"}, m.q_lora_rank, b.all(x), b.all(qa), false);
    b.rmsnorm(L + ".attn.q_a_norm", src + "q_a_layernorm.weight", b.all(qa), b.all(qa_n), kLatentNormEps);
    b.linear(L + ".attn.q_b", L + ".attn.q_b", {src + "q_b_proj.weight"}, H * qk, b.all(qa_n), b.all(q), false);
  } else {
    b.linear(L + ".attn.q", L + ".attn.q", {src + "q_proj.weight"}, H * qk, b.all(x), b.all(q), false);
  }
  auto& rope = b.op(OpKind::kRope, L + ".attn.q_rope", {b.all(q)}, {b.all(q)});
  rope.ints = {{"heads", H}, {"head_stride", qk}, {"offset", dn}, {"dim", dr}, {"interleaved", 1}};

  const int32_t kv = b.value(L + ".kv_a", kc + dr);
  b.linear(L + ".attn.kv_a", L + ".attn.kv_a", {src + "kv_a_proj_with_mqa.weight"}, kc + dr, b.all(x), b.all(kv), false);
  WeightSpec kv_norm;
  kv_norm.name = L + ".attn.kv_a_norm";
  kv_norm.sources = {src + "kv_a_layernorm.weight"};
  kv_norm.role = WeightRole::kNorm;
  kv_norm.rows = 1;
  kv_norm.cols = kc;
  auto& store = b.op(OpKind::kMlaKvStore, L + ".attn.kv_store", {b.all(kv)}, {}, {b.weight(kv_norm)});
  store.ints = {{"layer", layer}, {"kv_lora_rank", kc}, {"rope_dim", dr}};
  store.reals["eps"] = kLatentNormEps;

  // q_lat[h] = W[h, :dn, :]^T q_nope[h]
  WeightSpec kabs;
  kabs.name = L + ".attn.k_absorb";
  kabs.sources = {src + "kv_b_proj.weight"};
  kabs.transform = WeightTransform::kMlaKAbsorb;
  kabs.rows = H * kc;
  kabs.cols = dn;
  kabs.heads = H;
  kabs.nope_dim = dn;
  kabs.value_dim = dv;
  const int32_t q_lat = b.value(L + ".q_latent", H * kc);
  auto& qabs = b.op(OpKind::kLinearHeads, L + ".attn.q_absorb", {b.all(q)}, {b.all(q_lat)}, {b.weight(kabs)});
  qabs.ints = {{"heads", H}, {"in_head_stride", qk}, {"in_offset", 0}};

  const int32_t o_lat = b.value(L + ".o_latent", H * kc);
  auto& attn = b.op(OpKind::kMlaAttention, L + ".attn.core", {b.all(q_lat), b.all(q)}, {b.all(o_lat)});
  attn.ints = {{"layer", layer}, {"heads", H}, {"kv_lora_rank", kc}, {"rope_dim", dr}, {"q_head_stride", qk}, {"q_rope_offset", dn}};
  attn.reals["scale"] = rope_math::mla_softmax_scale(c);

  // o[h] = W[h, dn:, :] o_lat[h]
  WeightSpec vabs = kabs;
  vabs.name = L + ".attn.v_absorb";
  vabs.transform = WeightTransform::kMlaVAbsorb;
  vabs.rows = H * dv;
  vabs.cols = kc;
  const int32_t o = b.value(L + ".attn_out", H * dv);
  auto& vup = b.op(OpKind::kLinearHeads, L + ".attn.v_expand", {b.all(o_lat)}, {b.all(o)}, {b.weight(vabs)});
  vup.ints = {{"heads", H}, {"in_head_stride", kc}, {"in_offset", 0}};
  b.linear(L + ".attn.o", L + ".attn.o", {src + "o_proj.weight"}, c.hidden_size, b.all(o), b.all(h), true);
}

void build_moe(ProgramBuilder& b, const ModelConfig& c, int64_t layer, int32_t h, int32_t x) {
  const std::string L = "layers." + std::to_string(layer);
  const std::string src = "model.layers." + std::to_string(layer) + ".mlp.";
  const MoeConfig& m = c.moe;
  const int32_t logits = b.value(L + ".router_logits", m.n_routed_experts);
  b.linear(L + ".moe.gate", L + ".moe.gate", {src + "gate.weight"}, m.n_routed_experts, b.all(x), b.all(logits), false,
           WeightRole::kRouter);
  const int32_t ids = b.value(L + ".expert_ids", m.num_experts_per_tok, plan::ValueType::kI32);
  const int32_t wts = b.value(L + ".expert_weights", m.num_experts_per_tok);
  std::vector<int32_t> route_weights;
  if (m.has_correction_bias) {
    WeightSpec bias;
    bias.name = L + ".moe.correction_bias";
    bias.sources = {src + "gate.e_score_correction_bias"};
    bias.role = WeightRole::kRouterBias;
    bias.rows = 1;
    bias.cols = m.n_routed_experts;
    route_weights.push_back(b.weight(bias));
  }
  auto& route = b.op(OpKind::kMoeRoute, L + ".moe.route", {b.all(logits)}, {b.all(ids), b.all(wts)}, route_weights);
  route.ints = {{"experts", m.n_routed_experts},
                {"top_k", m.num_experts_per_tok},
                {"n_group", m.n_group},
                {"topk_group", m.topk_group},
                {"sigmoid", m.scoring_func == ScoringFunc::kSigmoid ? 1 : 0},
                {"group_score", m.topk_method == TopkMethod::kNoauxTc ? 2 : (m.topk_method == TopkMethod::kGroupLimitedGreedy ? 1 : 0)},
                {"normalize", m.norm_topk_prob ? 1 : 0}};
  route.reals["scaling"] = m.routed_scaling_factor;

  // Each expert's gate|up and down are separate plan tensors: the runtime indexes them through
  // a table of addresses, so no single buffer must hold every expert.
  std::vector<int32_t> experts;
  for (const char* part : {"gate_up", "down"}) {
    for (int64_t e = 0; e < m.n_routed_experts; ++e) {
      const std::string es = src + "experts." + std::to_string(e) + ".";
      WeightSpec s;
      s.name = L + ".experts." + std::to_string(e) + "." + part;
      if (std::string(part) == "gate_up") {
        s.sources = {es + "gate_proj.weight", es + "up_proj.weight"};
        s.transform = WeightTransform::kConcatRows;
        s.source_rows = {m.moe_intermediate_size, m.moe_intermediate_size};
        s.rows = 2 * m.moe_intermediate_size;
        s.cols = c.hidden_size;
      } else {
        s.sources = {es + "down_proj.weight"};
        s.rows = c.hidden_size;
        s.cols = m.moe_intermediate_size;
      }
      experts.push_back(b.weight(s));
    }
  }
  auto& ex = b.op(OpKind::kMoeExperts, L + ".moe.experts", {b.all(x), b.all(ids), b.all(wts)}, {b.all(h)}, experts);
  ex.ints = {{"experts", m.n_routed_experts}, {"top_k", m.num_experts_per_tok}, {"width", m.moe_intermediate_size}};
  if (m.n_shared_experts > 0) {
    b.swiglu_mlp(L + ".shared", src + "shared_experts.", m.n_shared_experts * m.moe_intermediate_size, x, h, c.hidden_size);
  }
}

}  // namespace

void build_deepseek_layer(ProgramBuilder& b, const ModelConfig& c, int64_t layer, int32_t h, int32_t x) {
  const std::string L = "layers." + std::to_string(layer);
  const std::string src = "model.layers." + std::to_string(layer) + ".";
  b.rmsnorm(L + ".attn_norm", src + "input_layernorm.weight", b.all(h), b.all(x), c.rms_norm_eps);
  build_mla(b, c, layer, h, x);
  b.rmsnorm(L + ".ffn_norm", src + "post_attention_layernorm.weight", b.all(h), b.all(x), c.rms_norm_eps);
  if (c.is_moe_layer(layer)) {
    build_moe(b, c, layer, h, x);
  } else {
    b.swiglu_mlp(L + ".mlp", src + "mlp.", c.intermediate_size, x, h, c.hidden_size);
  }
}

}  // namespace r1vk
