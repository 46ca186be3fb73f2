#include "import/config_writer.h"

#include "import/config_parser.h"

namespace r1vk {
namespace {

Json rope_scaling_json(const RopeScaling& s) {
  switch (s.type) {
    case RopeScalingType::kNone: return nullptr;
    case RopeScalingType::kYarn:
      return {{"type", "yarn"}, {"factor", s.factor}, {"original_max_position_embeddings", s.original_max_position_embeddings},
              {"beta_fast", s.beta_fast}, {"beta_slow", s.beta_slow}, {"mscale", s.mscale},
              {"mscale_all_dim", s.mscale_all_dim}};
    case RopeScalingType::kLlama3:
      return {{"rope_type", "llama3"}, {"factor", s.factor}, {"low_freq_factor", s.low_freq_factor},
              {"high_freq_factor", s.high_freq_factor},
              {"original_max_position_embeddings", s.original_max_position_embeddings}};
  }
  return nullptr;
}

const char* topk_method_name(TopkMethod m) {
  switch (m) {
    case TopkMethod::kGreedy: return "greedy";
    case TopkMethod::kGroupLimitedGreedy: return "group_limited_greedy";
    case TopkMethod::kNoauxTc: return "noaux_tc";
  }
  return "greedy";
}

void add_deepseek_fields(const ModelConfig& c, Json& j) {
  const MoeConfig& e = c.moe;
  j["q_lora_rank"] = c.mla.q_lora_rank > 0 ? Json(c.mla.q_lora_rank) : Json(nullptr);
  j["kv_lora_rank"] = c.mla.kv_lora_rank;
  j["qk_nope_head_dim"] = c.mla.qk_nope_head_dim;
  j["qk_rope_head_dim"] = c.mla.qk_rope_head_dim;
  j["v_head_dim"] = c.mla.v_head_dim;
  j["n_routed_experts"] = e.n_routed_experts > 0 ? Json(e.n_routed_experts) : Json(nullptr);
  j["n_shared_experts"] = e.n_shared_experts;
  j["num_experts_per_tok"] = e.num_experts_per_tok;
  j["moe_intermediate_size"] = e.moe_intermediate_size;
  j["first_k_dense_replace"] = e.first_k_dense_replace;
  j["moe_layer_freq"] = e.moe_layer_freq;
  j["n_group"] = e.n_group;
  j["topk_group"] = e.topk_group;
  j["topk_method"] = topk_method_name(e.topk_method);
  j["scoring_func"] = e.scoring_func == ScoringFunc::kSigmoid ? "sigmoid" : "softmax";
  j["norm_topk_prob"] = e.norm_topk_prob;
  j["routed_scaling_factor"] = e.routed_scaling_factor;
  j["aux_loss_alpha"] = 0.001;
  j["seq_aux"] = true;
  j["ep_size"] = 1;
  j["attention_bias"] = false;
  if (c.arch == Architecture::kDeepseekV3) j["num_nextn_predict_layers"] = c.num_nextn_predict_layers;
  if (c.fp8.enabled) {
    j["quantization_config"] = {{"activation_scheme", "dynamic"}, {"fmt", "e4m3"}, {"quant_method", "fp8"},
                                {"weight_block_size", {c.fp8.block_n, c.fp8.block_k}}};
  }
}

}  // namespace

Json model_config_to_json(const ModelConfig& c) {
  Json j = Json::object();
  j["architectures"] = {architecture_name(c.arch)};
  j["model_type"] = model_type_name(c.arch);
  j["vocab_size"] = c.vocab_size;
  j["hidden_size"] = c.hidden_size;
  j["intermediate_size"] = c.intermediate_size;
  j["num_hidden_layers"] = c.num_hidden_layers;
  j["num_attention_heads"] = c.num_attention_heads;
  j["num_key_value_heads"] = c.num_key_value_heads;
  j["hidden_act"] = "silu";
  j["max_position_embeddings"] = c.max_position_embeddings;
  j["rms_norm_eps"] = c.rms_norm_eps;
  j["rope_theta"] = c.rope_theta;
  j["rope_scaling"] = rope_scaling_json(c.rope_scaling);
  j["tie_word_embeddings"] = c.tie_word_embeddings;
  j["bos_token_id"] = c.bos_token_id >= 0 ? Json(c.bos_token_id) : Json(nullptr);
  j["eos_token_id"] = c.eos_token_id >= 0 ? Json(c.eos_token_id) : Json(nullptr);
  j["initializer_range"] = 0.02;
  j["attention_dropout"] = 0.0;
  j["use_cache"] = true;
  j["torch_dtype"] = "bfloat16";
  if (c.is_deepseek()) {
    add_deepseek_fields(c, j);
  } else if (c.arch == Architecture::kQwen2) {
    j["use_sliding_window"] = false;
    j["sliding_window"] = 4096;
    j["max_window_layers"] = c.num_hidden_layers;
    if (c.head_dim * c.num_attention_heads != c.hidden_size) j["head_dim"] = c.head_dim;
  } else {
    j["head_dim"] = c.head_dim;
    j["attention_bias"] = false;
    j["mlp_bias"] = false;
    j["pretraining_tp"] = 1;
  }
  return j;
}

}  // namespace r1vk
