#include "import/gguf_config.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>

#include "import/config_parser.h"
#include "import/config_limits.h"
#include "import/gguf_dequantize.h"

namespace r1vk {
namespace {

using namespace config_limits;

// llama.cpp's LLAMA_EXPERT_GATING_FUNC_TYPE values.
constexpr int64_t kGatingSoftmax = 1;
constexpr int64_t kGatingSigmoid = 2;

struct Keys {
  const GgufMetadata& md;
  std::string arch;
  std::string k(const char* suffix) const { return arch + "." + suffix; }
};

// rope.scaling.type, "none" when absent. (Read through an out-parameter: GCC 12 reports a false
// maybe-uninitialized on a std::string taken out of a Result here.)
Status rope_scaling_type(const Keys& k, std::string& out) {
  out = "none";
  const GgufValue* v = k.md.find(k.k("rope.scaling.type"));
  if (!v) return ok_status();
  if (v->type != GgufValueType::kString) return gguf_key_error(k.k("rope.scaling.type"), "expected a string, got " + v->type_name());
  out = v->s;
  return ok_status();
}

Result<int64_t> vocab_from_embedding(const GgufModelFiles& files) {
  const GgufTensorInfo* t = files.find("token_embd.weight");
  if (!t) return make_error(ErrorCode::kCorruptData, files.path() + ": no tensor 'token_embd.weight'");
  if (t->dims.size() != 2) {
    return make_error(ErrorCode::kCorruptData, files.path() + ": token_embd.weight has dims " + gguf_dims_to_string(t->dims) +
                                                   ", expected 2");
  }
  if (t->dims[1] > static_cast<uint64_t>(kMaxVocab)) {
    return make_error(ErrorCode::kOutOfRange, files.path() + ": vocabulary of " + std::to_string(t->dims[1]) + " is too large");
  }
  return static_cast<int64_t>(t->dims[1]);
}

Status parse_common(const Keys& k, const GgufModelFiles& files, ModelConfig& c) {
  const GgufMetadata& md = k.md;
  R1VK_ASSIGN_OR_RETURN(c.vocab_size, vocab_from_embedding(files));
  R1VK_ASSIGN_OR_RETURN(c.hidden_size, md.integer(k.k("embedding_length"), 1, kMaxDim));
  if (const GgufValue* ff = md.find(k.k("feed_forward_length")); ff && ff->type == GgufValueType::kArray) {
    return gguf_key_error(k.k("feed_forward_length"), "per-layer widths are not supported", ErrorCode::kUnsupported);
  }
  R1VK_ASSIGN_OR_RETURN(c.intermediate_size, md.integer(k.k("feed_forward_length"), 1, kMaxDim));
  R1VK_ASSIGN_OR_RETURN(c.num_hidden_layers, md.integer(k.k("block_count"), 1, kMaxLayers));
  if (const GgufValue* h = md.find(k.k("attention.head_count")); h && h->type == GgufValueType::kArray) {
    return gguf_key_error(k.k("attention.head_count"), "per-layer head counts are not supported", ErrorCode::kUnsupported);
  }
  R1VK_ASSIGN_OR_RETURN(c.num_attention_heads, md.integer(k.k("attention.head_count"), 1, kMaxHeads));
  R1VK_ASSIGN_OR_RETURN(c.rms_norm_eps, md.number(k.k("attention.layer_norm_rms_epsilon"), 1e-12, 0.1));
  R1VK_ASSIGN_OR_RETURN(c.rope_theta, md.number_or(k.k("rope.freq_base"), 10000.0, 1.0, 1e12));
  R1VK_ASSIGN_OR_RETURN(c.max_position_embeddings, md.integer(k.k("context_length"), 1, kMaxPositions));
  c.tie_word_embeddings = files.find("output.weight") == nullptr;
  R1VK_ASSIGN_OR_RETURN(c.bos_token_id, md.integer_or("tokenizer.ggml.bos_token_id", -1, 0, c.vocab_size - 1));
  R1VK_ASSIGN_OR_RETURN(c.eos_token_id, md.integer_or("tokenizer.ggml.eos_token_id", -1, 0, c.vocab_size - 1));
  return ok_status();
}

Status parse_yarn(const Keys& k, ModelConfig& c) {
  const GgufMetadata& md = k.md;
  std::string type;
    R1VK_TRY(rope_scaling_type(k, type));
  if (type == "none") return ok_status();
  if (type != "yarn") {
    return gguf_key_error(k.k("rope.scaling.type"), "'" + type + "' is not supported for deepseek2 (none or yarn)",
                          ErrorCode::kUnsupported);
  }
  RopeScaling& s = c.rope_scaling;
  s.type = RopeScalingType::kYarn;
  R1VK_ASSIGN_OR_RETURN(s.factor, md.number(k.k("rope.scaling.factor"), 1.0, 1024.0));
  R1VK_ASSIGN_OR_RETURN(s.original_max_position_embeddings,
                        md.integer(k.k("rope.scaling.original_context_length"), 1, kMaxPositions));
  R1VK_ASSIGN_OR_RETURN(s.beta_fast, md.number_or(k.k("rope.scaling.yarn_beta_fast"), 32.0, 1e-3, 1e4));
  R1VK_ASSIGN_OR_RETURN(s.beta_slow, md.number_or(k.k("rope.scaling.yarn_beta_slow"), 1.0, 1e-3, 1e4));
  // The converter stores 0.1 * mscale_all_dim as yarn_log_multiplier and drops `mscale`. Every
  // published DeepSeek config has mscale == mscale_all_dim, so that is assumed here (the
  // cos/sin magnitude is then 1 and the softmax scale carries the correction).
  R1VK_ASSIGN_OR_RETURN(double log_mul, md.number_or(k.k("rope.scaling.yarn_log_multiplier"), 0.0, 0.0, 10.0));
  // 12 significant digits drop the binary noise of the division (0.0707 / 0.1 -> 0.707).
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.12g", log_mul / 0.1);
  s.mscale_all_dim = std::strtod(buf, nullptr);
  s.mscale = s.mscale_all_dim;
  return ok_status();
}

Result<GgufMlaLayout> mla_layout(const GgufModelFiles& files) {
  const bool kv_b = files.find("blk.0.attn_kv_b.weight") != nullptr;
  const bool split = files.find("blk.0.attn_k_b.weight") != nullptr && files.find("blk.0.attn_v_b.weight") != nullptr;
  if (kv_b) return GgufMlaLayout::kKvB;
  if (split) return GgufMlaLayout::kSplitKvB;
  return make_error(ErrorCode::kCorruptData,
                    files.path() + ": deepseek2 file has neither blk.0.attn_kv_b.weight nor blk.0.attn_k_b/attn_v_b.weight");
}

Status parse_deepseek(const Keys& k, const GgufModelFiles& files, GgufModelInfo& info) {
  const GgufMetadata& md = k.md;
  ModelConfig& c = info.config;
  MlaConfig& m = c.mla;
  R1VK_ASSIGN_OR_RETURN(info.mla_layout, mla_layout(files));
  R1VK_ASSIGN_OR_RETURN(m.q_lora_rank, md.integer_or(k.k("attention.q_lora_rank"), 0, 0, kMaxDim));
  R1VK_ASSIGN_OR_RETURN(m.kv_lora_rank, md.integer(k.k("attention.kv_lora_rank"), 1, kMaxDim));
  R1VK_ASSIGN_OR_RETURN(m.qk_rope_head_dim, md.integer(k.k("rope.dimension_count"), 2, kMaxDim));
  // Newer files describe the MQA form (key_length = kv_lora_rank + rope) and keep the per-head
  // sizes in the *_mla keys; older files have the per-head sizes in key_length / value_length.
  const bool has_mla_keys = md.has(k.k("attention.key_length_mla"));
  R1VK_ASSIGN_OR_RETURN(int64_t key_len, md.integer(k.k(has_mla_keys ? "attention.key_length_mla" : "attention.key_length"),
                                                    2, kMaxDim));
  R1VK_ASSIGN_OR_RETURN(m.v_head_dim, md.integer(k.k(has_mla_keys ? "attention.value_length_mla" : "attention.value_length"),
                                                 1, kMaxDim));
  if (key_len <= m.qk_rope_head_dim) {
    return gguf_key_error(k.k("attention.key_length"), "per-head key length " + std::to_string(key_len) +
                                                           " does not exceed the rope dimension " +
                                                           std::to_string(m.qk_rope_head_dim));
  }
  m.qk_nope_head_dim = key_len - m.qk_rope_head_dim;
  c.num_key_value_heads = c.num_attention_heads;

  MoeConfig& e = c.moe;
  R1VK_ASSIGN_OR_RETURN(e.n_routed_experts, md.integer_or(k.k("expert_count"), 0, 0, kMaxExperts));
  if (e.n_routed_experts > 0) {
    R1VK_ASSIGN_OR_RETURN(e.num_experts_per_tok, md.integer(k.k("expert_used_count"), 1, kMaxExperts));
    R1VK_ASSIGN_OR_RETURN(e.moe_intermediate_size, md.integer(k.k("expert_feed_forward_length"), 1, kMaxDim));
  }
  R1VK_ASSIGN_OR_RETURN(e.n_shared_experts, md.integer_or(k.k("expert_shared_count"), 0, 0, kMaxExperts));
  R1VK_ASSIGN_OR_RETURN(e.first_k_dense_replace, md.integer_or(k.k("leading_dense_block_count"), 0, 0, kMaxLayers));
  R1VK_ASSIGN_OR_RETURN(e.routed_scaling_factor, md.number_or(k.k("expert_weights_scale"), 1.0, 1e-6, 1e6));
  R1VK_ASSIGN_OR_RETURN(e.norm_topk_prob, md.boolean_or(k.k("expert_weights_norm"), false));
  R1VK_ASSIGN_OR_RETURN(e.n_group, md.integer_or(k.k("expert_group_count"), 1, 1, kMaxExperts));
  R1VK_ASSIGN_OR_RETURN(e.topk_group, md.integer_or(k.k("expert_group_used_count"), e.n_group, 1, kMaxExperts));
  // Files written before the key existed are V2 (softmax), as llama.cpp assumes.
  R1VK_ASSIGN_OR_RETURN(int64_t gating, md.integer_or(k.k("expert_gating_func"), kGatingSoftmax, 0, 16));
  if (gating == 0) gating = kGatingSoftmax;
  if (gating != kGatingSoftmax && gating != kGatingSigmoid) {
    return gguf_key_error(k.k("expert_gating_func"), std::to_string(gating) + " is not softmax (1) or sigmoid (2)",
                          ErrorCode::kUnsupported);
  }
  if (gating == kGatingSigmoid) {
    c.arch = Architecture::kDeepseekV3;
    e.scoring_func = ScoringFunc::kSigmoid;
    e.topk_method = TopkMethod::kNoauxTc;
    e.has_correction_bias = true;
  } else {
    c.arch = Architecture::kDeepseekV2;
    e.scoring_func = ScoringFunc::kSoftmax;
    e.topk_method = e.n_group > 1 ? TopkMethod::kGroupLimitedGreedy : TopkMethod::kGreedy;
  }
  // Multi-token-prediction layers are counted in block_count by converters that keep them.
  R1VK_ASSIGN_OR_RETURN(c.num_nextn_predict_layers, md.integer_or(k.k("nextn_predict_layers"), 0, 0, 16));
  if (c.num_nextn_predict_layers >= c.num_hidden_layers) {
    return gguf_key_error(k.k("nextn_predict_layers"), "not smaller than block_count");
  }
  c.num_hidden_layers -= c.num_nextn_predict_layers;
  return parse_yarn(k, c);
}

// llama3 scaling as llama.cpp keeps it: `rope_freqs.weight`, one f32 divisor per frequency.
Status parse_llama_rope(const Keys& k, const GgufModelFiles& files, ModelConfig& c) {
  std::string type;
  R1VK_TRY(rope_scaling_type(k, type));
  const GgufTensorInfo* t = files.find("rope_freqs.weight");
  if (type != "none" && !(type == "llama3" && t)) {
    return gguf_key_error(k.k("rope.scaling.type"), "'" + type + "' is not supported for llama (none, or llama3 via rope_freqs)",
                          ErrorCode::kUnsupported);
  }
  if (!t) return ok_status();
  const uint64_t half = static_cast<uint64_t>(c.head_dim / 2);
  if (t->dims.size() != 1 || t->dims[0] != half) {
    return make_error(ErrorCode::kCorruptData, files.path() + ": rope_freqs.weight has dims " + gguf_dims_to_string(t->dims) +
                                                   ", expected {" + std::to_string(half) + "}");
  }
  R1VK_ASSIGN_OR_RETURN(GgufTensorRef ref, files.tensor("rope_freqs.weight"));
  std::vector<float> f(static_cast<size_t>(half));
  R1VK_TRY(dequantize_ggml(t->type, ref.bytes, f));
  RopeScaling& s = c.rope_scaling;
  s.type = RopeScalingType::kLlama3;
  s.factor = 1.0;
  for (float v : f) {
    if (!std::isfinite(v) || v < 1.0f || v > 1024.0f) {
      return make_error(ErrorCode::kCorruptData, files.path() + ": rope_freqs.weight holds " + std::to_string(v) +
                                                     ", not a divisor in [1, 1024]");
    }
    s.freq_divisors.push_back(v);
    s.factor = std::max(s.factor, static_cast<double>(v));
  }
  R1VK_ASSIGN_OR_RETURN(s.original_max_position_embeddings,
                        k.md.integer_or(k.k("rope.scaling.original_context_length"), c.max_position_embeddings, 1, kMaxPositions));
  return ok_status();
}

Status parse_dense(const Keys& k, const GgufModelFiles& files, ModelConfig& c) {
  const GgufMetadata& md = k.md;
  R1VK_ASSIGN_OR_RETURN(c.num_key_value_heads, md.integer_or(k.k("attention.head_count_kv"), c.num_attention_heads, 1, kMaxHeads));
  if (!md.has(k.k("attention.key_length")) && c.hidden_size % c.num_attention_heads != 0) {
    return gguf_key_error(k.k("embedding_length"), "not divisible by the head count and attention.key_length is absent");
  }
  R1VK_ASSIGN_OR_RETURN(c.head_dim, md.integer_or(k.k("attention.key_length"), c.hidden_size / c.num_attention_heads, 2, kMaxDim));
  R1VK_ASSIGN_OR_RETURN(int64_t value_len, md.integer_or(k.k("attention.value_length"), c.head_dim, 1, kMaxDim));
  if (value_len != c.head_dim) return gguf_key_error(k.k("attention.value_length"), "differs from key_length", ErrorCode::kUnsupported);
  R1VK_ASSIGN_OR_RETURN(int64_t rope_dim, md.integer_or(k.k("rope.dimension_count"), c.head_dim, 2, kMaxDim));
  if (rope_dim != c.head_dim) {
    return gguf_key_error(k.k("rope.dimension_count"), "partial rotary embeddings are not supported", ErrorCode::kUnsupported);
  }
  R1VK_ASSIGN_OR_RETURN(int64_t experts, md.integer_or(k.k("expert_count"), 0, 0, kMaxExperts));
  if (experts != 0) {
    return gguf_key_error(k.k("expert_count"), "mixture-of-experts " + k.arch + " models are not supported",
                          ErrorCode::kUnsupported);
  }
  if (c.arch == Architecture::kQwen2) {
    c.attention_qkv_bias = true;
    std::string type;
    R1VK_TRY(rope_scaling_type(k, type));
    if (type != "none") {
      return gguf_key_error(k.k("rope.scaling.type"), "'" + type + "' is not supported for qwen2", ErrorCode::kUnsupported);
    }
    return ok_status();
  }
  if (files.find("blk.0.attn_q.bias") || files.find("blk.0.ffn_up.bias")) {
    return make_error(ErrorCode::kUnsupported, files.path() + ": llama files with attention or MLP biases are not supported");
  }
  return parse_llama_rope(k, files, c);
}

}  // namespace

Result<GgufModelInfo> gguf_model_config(const GgufModelFiles& files) {
  const GgufMetadata& md = files.metadata();
  GgufModelInfo info;
  auto arch = md.string("general.architecture");
  if (!arch.ok()) return std::move(arch).error().with_context(files.path());
  info.architecture = *arch;
  ModelConfig& c = info.config;
  if (*arch == "deepseek2") {
    c.arch = Architecture::kDeepseekV2;
  } else if (*arch == "qwen2") {
    c.arch = Architecture::kQwen2;
  } else if (*arch == "llama") {
    c.arch = Architecture::kLlama;
  } else {
    return make_error(ErrorCode::kUnsupported, files.path() + ": GGUF architecture '" + *arch +
                                                   "' is not supported (supported: deepseek2, qwen2, llama)");
  }
  const Keys k{md, *arch};
  Status s = parse_common(k, files, c);
  if (s.ok()) s = c.is_deepseek() ? parse_deepseek(k, files, info) : parse_dense(k, files, c);
  if (s.ok()) s = validate_model_config(c);
  if (!s.ok()) return std::move(s).error().with_context(files.path());
  return info;
}

}  // namespace r1vk
