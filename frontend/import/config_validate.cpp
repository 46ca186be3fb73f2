// Cross-field consistency of a ModelConfig (declared in config_parser.h).
#include <string>

#include "import/config_parser.h"

namespace r1vk {
namespace {

constexpr int64_t kMaxExpertLayers = int64_t{1} << 17;

Error field_error(const std::string& field, const std::string& message) {
  return make_error(ErrorCode::kCorruptData, "field '" + field + "': " + message);
}

std::string str(int64_t v) { return std::to_string(v); }

Status check_positive(const char* field, int64_t v) {
  if (v < 1) return field_error(field, str(v) + " must be positive");
  return ok_status();
}

Status validate_moe(const ModelConfig& c) {
  const MoeConfig& e = c.moe;
  const bool v3 = c.arch == Architecture::kDeepseekV3;
  if (v3 && e.scoring_func != ScoringFunc::kSigmoid) return field_error("scoring_func", "DeepseekV3ForCausalLM routes with sigmoid");
  if (!v3 && e.scoring_func != ScoringFunc::kSoftmax) return field_error("scoring_func", "DeepseekV2ForCausalLM routes with softmax");
  if (v3 && e.topk_method != TopkMethod::kNoauxTc) return field_error("topk_method", "DeepseekV3ForCausalLM uses noaux_tc");
  if (!v3 && e.topk_method == TopkMethod::kNoauxTc) {
    return field_error("topk_method", "DeepseekV2ForCausalLM uses greedy or group_limited_greedy");
  }
  if (e.has_correction_bias != (e.topk_method == TopkMethod::kNoauxTc)) {
    return field_error("topk_method", "e_score_correction_bias exists exactly with noaux_tc");
  }
  if (e.n_routed_experts == 0) return ok_status();  // dense DeepSeek model
  R1VK_TRY(check_positive("num_experts_per_tok", e.num_experts_per_tok));
  R1VK_TRY(check_positive("moe_intermediate_size", e.moe_intermediate_size));
  R1VK_TRY(check_positive("n_group", e.n_group));
  R1VK_TRY(check_positive("topk_group", e.topk_group));
  R1VK_TRY(check_positive("moe_layer_freq", e.moe_layer_freq));
  if (e.n_shared_experts < 0) return field_error("n_shared_experts", "negative");
  if (e.num_experts_per_tok > e.n_routed_experts) {
    return field_error("num_experts_per_tok", str(e.num_experts_per_tok) + " exceeds n_routed_experts (" + str(e.n_routed_experts) + ")");
  }
  if (e.n_routed_experts % e.n_group != 0) {
    return field_error("n_group", "n_routed_experts (" + str(e.n_routed_experts) + ") is not divisible by n_group (" + str(e.n_group) + ")");
  }
  if (e.topk_group > e.n_group) return field_error("topk_group", str(e.topk_group) + " exceeds n_group (" + str(e.n_group) + ")");
  const bool grouped = e.topk_method != TopkMethod::kGreedy;
  const int64_t reachable = e.topk_group * (e.n_routed_experts / e.n_group);
  if (grouped && e.num_experts_per_tok > reachable) {
    return field_error("num_experts_per_tok", str(e.num_experts_per_tok) + " exceeds the " + str(reachable) +
                                                  " experts in topk_group groups");
  }
  if (e.topk_method == TopkMethod::kNoauxTc && e.n_group > 1 && e.n_routed_experts / e.n_group < 2) {
    return field_error("n_group", "noaux_tc scores a group by its top-2 experts, so groups need at least 2 experts");
  }
  if (e.first_k_dense_replace > c.num_hidden_layers) {
    return field_error("first_k_dense_replace", str(e.first_k_dense_replace) + " exceeds num_hidden_layers (" +
                                                     str(c.num_hidden_layers) + ")");
  }
  if (!(e.routed_scaling_factor > 0)) return field_error("routed_scaling_factor", "must be positive");
  // Bounds the tensor inventory (3 tensors + a scale each per expert and layer): R1 has 62 x 256.
  const int64_t expert_layers = (c.num_hidden_layers + c.num_nextn_predict_layers) * e.n_routed_experts;
  if (expert_layers > kMaxExpertLayers) {
    return field_error("n_routed_experts", str(e.n_routed_experts) + " experts in " +
                                               str(c.num_hidden_layers + c.num_nextn_predict_layers) +
                                               " layers exceed the limit of " + str(kMaxExpertLayers) + " expert-layers");
  }
  return ok_status();
}

Status validate_attention(const ModelConfig& c) {
  if (c.is_deepseek()) {
    const MlaConfig& m = c.mla;
    if (m.q_lora_rank < 0) return field_error("q_lora_rank", "negative");
    R1VK_TRY(check_positive("kv_lora_rank", m.kv_lora_rank));
    R1VK_TRY(check_positive("qk_nope_head_dim", m.qk_nope_head_dim));
    R1VK_TRY(check_positive("v_head_dim", m.v_head_dim));
    R1VK_TRY(check_positive("qk_rope_head_dim", m.qk_rope_head_dim));
    if (m.qk_rope_head_dim % 2 != 0) return field_error("qk_rope_head_dim", str(m.qk_rope_head_dim) + " is odd; RoPE rotates pairs");
    return ok_status();
  }
  R1VK_TRY(check_positive("num_key_value_heads", c.num_key_value_heads));
  if (c.num_attention_heads % c.num_key_value_heads != 0) {
    return field_error("num_key_value_heads", "num_attention_heads (" + str(c.num_attention_heads) +
                                                  ") is not divisible by num_key_value_heads (" + str(c.num_key_value_heads) + ")");
  }
  R1VK_TRY(check_positive("head_dim", c.head_dim));
  if (c.head_dim % 2 != 0) return field_error("head_dim", str(c.head_dim) + " is odd; RoPE rotates pairs");
  return ok_status();
}

Status validate_rope(const ModelConfig& c) {
  const RopeScaling& s = c.rope_scaling;
  if (!(c.rope_theta > 1.0)) return field_error("rope_theta", "must be greater than 1");
  if (s.type == RopeScalingType::kNone) return ok_status();
  if (!(s.factor >= 1.0)) return field_error("rope_scaling.factor", "must be at least 1");
  if (s.original_max_position_embeddings < 1) return field_error("rope_scaling.original_max_position_embeddings", "must be positive");
  if (s.type == RopeScalingType::kYarn && !c.is_deepseek()) return field_error("rope_scaling.type", "yarn is for DeepSeek models");
  if (s.type == RopeScalingType::kLlama3) {
    if (c.arch != Architecture::kLlama) return field_error("rope_scaling.rope_type", "llama3 is for LlamaForCausalLM");
    if (!(s.high_freq_factor > s.low_freq_factor)) {
      return field_error("rope_scaling.high_freq_factor", "must exceed low_freq_factor");
    }
  }
  return ok_status();
}

}  // namespace

Status validate_model_config(const ModelConfig& c) {
  R1VK_TRY(check_positive("vocab_size", c.vocab_size));
  R1VK_TRY(check_positive("hidden_size", c.hidden_size));
  R1VK_TRY(check_positive("intermediate_size", c.intermediate_size));
  R1VK_TRY(check_positive("num_hidden_layers", c.num_hidden_layers));
  R1VK_TRY(check_positive("num_attention_heads", c.num_attention_heads));
  R1VK_TRY(check_positive("max_position_embeddings", c.max_position_embeddings));
  if (!(c.rms_norm_eps > 0 && c.rms_norm_eps < 1)) return field_error("rms_norm_eps", "must be in (0, 1)");
  for (const auto& [field, id] : {std::pair{"bos_token_id", c.bos_token_id}, std::pair{"eos_token_id", c.eos_token_id}}) {
    if (id >= c.vocab_size) return field_error(field, str(id) + " is outside the vocabulary (vocab_size " + str(c.vocab_size) + ")");
  }
  R1VK_TRY(validate_attention(c));
  R1VK_TRY(validate_rope(c));
  if (c.is_deepseek()) R1VK_TRY(validate_moe(c));
  if (c.fp8.enabled) {
    if (c.arch != Architecture::kDeepseekV3) return field_error("quantization_config", "FP8 checkpoints are DeepseekV3ForCausalLM only");
    R1VK_TRY(check_positive("quantization_config.weight_block_size", c.fp8.block_n));
    R1VK_TRY(check_positive("quantization_config.weight_block_size", c.fp8.block_k));
  }
  if (c.num_nextn_predict_layers < 0) return field_error("num_nextn_predict_layers", "negative");
  if (c.num_nextn_predict_layers > 0 && c.arch != Architecture::kDeepseekV3) {
    return field_error("num_nextn_predict_layers", "MTP layers are DeepseekV3ForCausalLM only");
  }
  return ok_status();
}

}  // namespace r1vk
