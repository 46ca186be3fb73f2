#include "graph/graph_builder.h"

#include "import/rope_frequencies.h"

namespace r1vk {

using plan::ActRef;
using plan::Op;
using plan::OpKind;

int32_t ProgramBuilder::value(const std::string& name, int64_t width, plan::ValueType type) {
  p_.values.push_back({name, width, type, 0});
  return static_cast<int32_t>(p_.values.size() - 1);
}

ActRef ProgramBuilder::all(int32_t value) const { return {value, 0, p_.values[static_cast<size_t>(value)].width}; }

int32_t ProgramBuilder::weight(const WeightSpec& spec) {
  for (size_t i = 0; i < w_.size(); ++i) {
    if (w_[i].name == spec.name) return static_cast<int32_t>(i);
  }
  w_.push_back(spec);
  return static_cast<int32_t>(w_.size() - 1);
}

Op& ProgramBuilder::op(OpKind kind, const std::string& label, std::vector<ActRef> in, std::vector<ActRef> out,
                       std::vector<int32_t> weights) {
  Op o;
  o.kind = kind;
  o.label = label;
  o.inputs = std::move(in);
  o.outputs = std::move(out);
  o.weights = std::move(weights);
  p_.ops.push_back(std::move(o));
  return p_.ops.back();
}

void ProgramBuilder::rmsnorm(const std::string& label, const std::string& source, ActRef in, ActRef out, double eps) {
  WeightSpec s;
  s.name = label;
  s.sources = {source};
  s.role = WeightRole::kNorm;
  s.rows = 1;
  s.cols = in.cols;
  op(OpKind::kRmsNorm, label, {in}, {out}, {weight(s)}).reals["eps"] = eps;
}

void ProgramBuilder::linear(const std::string& label, const std::string& plan_name, std::vector<std::string> sources,
                            int64_t rows, ActRef in, ActRef out, bool accumulate, WeightRole role,
                            std::vector<int64_t> source_rows) {
  WeightSpec s;
  s.name = plan_name;
  s.transform = sources.size() > 1 ? WeightTransform::kConcatRows : WeightTransform::kNone;
  if (sources.size() > 1 && source_rows.empty()) {
    source_rows.assign(sources.size(), rows / static_cast<int64_t>(sources.size()));  // equal parts (gate|up)
  }
  s.source_rows = std::move(source_rows);
  s.sources = std::move(sources);
  s.role = role;
  s.rows = rows;
  s.cols = in.cols;
  op(OpKind::kLinear, label, {in}, {out}, {weight(s)}).ints["accumulate"] = accumulate ? 1 : 0;
}

void ProgramBuilder::swiglu_mlp(const std::string& label, const std::string& prefix, int64_t width, int32_t x, int32_t h,
                                int64_t hidden) {
  const int32_t gu = value(label + ".gate_up", 2 * width);
  const int32_t act = value(label + ".act", width);
  linear(label + ".gate_up", label + ".gate_up", {prefix + "gate_proj.weight", prefix + "up_proj.weight"}, 2 * width,
         all(x), all(gu), false);
  op(OpKind::kSwiGlu, label + ".swiglu", {all(gu)}, {all(act)});
  linear(label + ".down", label + ".down", {prefix + "down_proj.weight"}, hidden, all(act), all(h), true);
}

namespace {

WeightSpec embedding_spec(const ModelConfig& c, const std::string& plan_name, const std::string& source) {
  WeightSpec embed;
  embed.name = plan_name;
  embed.sources = {source};
  embed.role = WeightRole::kEmbedding;
  embed.rows = c.vocab_size;
  embed.cols = c.hidden_size;
  return embed;
}

std::string main_head_source(const ModelConfig& c) {
  return c.tie_word_embeddings ? "model.embed_tokens.weight" : "lm_head.weight";
}

// Embedding, layers, final norm and head: tokens -> logits.
void build_main(ProgramBuilder& b, plan::Program& p, const ModelConfig& c) {
  p.tokens_value = b.value("tokens", 1, plan::ValueType::kI32);
  const int32_t h = b.value("h", c.hidden_size);
  b.op(OpKind::kEmbed, "embed", {b.all(p.tokens_value)}, {b.all(h)}, {b.weight(embedding_spec(c, "embed_tokens", "model.embed_tokens.weight"))});
  for (int64_t l = 0; l < c.num_hidden_layers; ++l) {
    const int32_t x = b.value("layers." + std::to_string(l) + ".x", c.hidden_size);
    if (c.is_deepseek()) {
      build_deepseek_layer(b, c, l, h, x);
    } else {
      build_dense_layer(b, c, l, h, x);
    }
  }
  p.hidden_value = b.value("hidden", c.hidden_size);
  p.logits_value = b.value("logits", c.vocab_size);
  b.rmsnorm("final_norm", "model.norm.weight", b.all(h), b.all(p.hidden_value), c.rms_norm_eps);
  b.linear("lm_head", "lm_head", {main_head_source(c)}, c.vocab_size, b.all(p.hidden_value), b.all(p.logits_value), false,
           WeightRole::kLmHead);
}

// MTP: draft logits from (token t+1, main hidden state at t), MODEL_SPEC §3.
void build_mtp(ProgramBuilder& b, plan::Program& p, const ModelConfig& c) {
  const int64_t L = c.num_hidden_layers, hid = c.hidden_size;
  const std::string pre = "model.layers." + std::to_string(L) + ".";
  p.tokens_value = b.value("tokens", 1, plan::ValueType::kI32);
  p.hidden_value = b.value("main_hidden", hid);  // input: the main model's normed hidden state
  const int32_t e = b.value("mtp.embed", hid);
  const int32_t cat = b.value("mtp.cat", 2 * hid);
  const int32_t h = b.value("h", hid);
  // A shared embedding / head is the main program's plan tensor itself (same name, so
  // ProgramBuilder::weight reuses it): no second copy in the plan.
  const WeightSpec embed = c.mtp_shares_embedding ? embedding_spec(c, "embed_tokens", "model.embed_tokens.weight")
                                                  : embedding_spec(c, "mtp.embed_tokens", pre + "embed_tokens.weight");
  // vLLM and SGLang zero the embedding at position 0.
  b.op(OpKind::kEmbed, "mtp.embed", {b.all(p.tokens_value)}, {b.all(e)}, {b.weight(embed)}).ints["zero_at_position0"] = 1;
  b.rmsnorm("mtp.enorm", pre + "enorm.weight", b.all(e), b.cols(cat, 0, hid), c.rms_norm_eps);
  b.rmsnorm("mtp.hnorm", pre + "hnorm.weight", b.all(p.hidden_value), b.cols(cat, hid, hid), c.rms_norm_eps);
  b.linear("mtp.eh_proj", "mtp.eh_proj", {pre + "eh_proj.weight"}, hid, b.all(cat), b.all(h), false, WeightRole::kLinear);
  const int32_t x = b.value("layers." + std::to_string(L) + ".x", hid);
  build_deepseek_layer(b, c, L, h, x);
  const int32_t normed = b.value("mtp.normed", hid);
  p.logits_value = b.value("logits", c.vocab_size);
  b.rmsnorm("mtp.norm", pre + "shared_head.norm.weight", b.all(h), b.all(normed), c.rms_norm_eps);
  const std::string head_plan = c.mtp_shares_head ? "lm_head" : "mtp.head";
  const std::string head_source = c.mtp_shares_head ? main_head_source(c) : pre + "shared_head.head.weight";
  b.linear("mtp.head", head_plan, {head_source}, c.vocab_size, b.all(normed),
           b.all(p.logits_value), false, WeightRole::kLmHead);
}

}  // namespace

Result<ModelGraph> build_model_graph(const ModelConfig& c) {
  if (c.hidden_size <= 0 || c.vocab_size <= 0 || c.num_hidden_layers <= 0) {
    return make_error(ErrorCode::kInvalidArgument, "model config has no layers, hidden size or vocabulary");
  }
  ModelGraph g;
  ProgramBuilder main(g.main, g.weights);
  build_main(main, g.main, c);
  g.kv_layers = c.num_hidden_layers;
  if (c.num_nextn_predict_layers > 0) {
    if (!c.is_deepseek()) return make_error(ErrorCode::kUnsupported, "MTP layers are only defined for DeepSeek models");
    ProgramBuilder mtp(g.mtp, g.weights);
    build_mtp(mtp, g.mtp, c);
    g.kv_layers += 1;  // only the first MTP layer is run; further ones are ignored as in vLLM
  }
  g.kv_width = c.is_deepseek() ? c.mla.kv_lora_rank + c.mla.qk_rope_head_dim : 2 * c.num_key_value_heads * c.head_dim;
  g.rope_freqs = rope_math::frequencies(c.rope_scaling, c.rope_theta, c.rope_dim());
  g.rope_magnitude = rope_math::magnitude(c.rope_scaling);
  return g;
}

}  // namespace r1vk
