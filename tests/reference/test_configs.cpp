#include "reference/test_configs.h"

#include <random>
#include <string>
#include <vector>

namespace r1vk::testing {

ModelConfig tiny_deepseek_v3() {
  ModelConfig c;
  c.arch = Architecture::kDeepseekV3;
  c.vocab_size = 97;
  c.hidden_size = 48;
  c.intermediate_size = 80;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 3;
  c.num_key_value_heads = 3;
  c.mla = {24, 32, 16, 8, 12};
  c.moe.n_routed_experts = 8;
  c.moe.n_shared_experts = 1;
  c.moe.num_experts_per_tok = 2;
  c.moe.moe_intermediate_size = 20;
  c.moe.first_k_dense_replace = 1;
  c.moe.n_group = 4;
  c.moe.topk_group = 2;
  c.moe.routed_scaling_factor = 2.5;
  c.moe.norm_topk_prob = true;
  c.moe.scoring_func = ScoringFunc::kSigmoid;
  c.moe.topk_method = TopkMethod::kNoauxTc;
  c.moe.has_correction_bias = true;
  c.rope_scaling.type = RopeScalingType::kYarn;
  c.rope_scaling.factor = 4;
  c.rope_scaling.original_max_position_embeddings = 64;
  c.rope_scaling.mscale = 1;
  c.rope_scaling.mscale_all_dim = 1;
  c.num_nextn_predict_layers = 1;
  return c;
}

ModelConfig tiny_deepseek_v2() {
  ModelConfig c = tiny_deepseek_v3();
  c.arch = Architecture::kDeepseekV2;
  c.mla.q_lora_rank = 0;
  c.moe.n_shared_experts = 2;
  c.moe.n_group = 2;
  c.moe.topk_group = 1;
  c.moe.num_experts_per_tok = 3;
  c.moe.scoring_func = ScoringFunc::kSoftmax;
  c.moe.topk_method = TopkMethod::kGroupLimitedGreedy;
  c.moe.has_correction_bias = false;
  c.moe.norm_topk_prob = false;
  c.moe.routed_scaling_factor = 1.0;
  c.rope_scaling.mscale = 0.707;
  c.rope_scaling.mscale_all_dim = 0.707;
  c.num_nextn_predict_layers = 0;
  return c;
}

ModelConfig tiny_qwen2() {
  ModelConfig c;
  c.arch = Architecture::kQwen2;
  c.vocab_size = 101;
  c.hidden_size = 40;
  c.intermediate_size = 72;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 2;
  c.head_dim = 10;
  c.attention_qkv_bias = true;
  return c;
}

ModelConfig tiny_llama() {
  ModelConfig c;
  c.arch = Architecture::kLlama;
  c.vocab_size = 89;
  c.hidden_size = 36;
  c.intermediate_size = 52;
  c.num_hidden_layers = 3;
  c.num_attention_heads = 6;
  c.num_key_value_heads = 2;
  c.head_dim = 6;
  c.rms_norm_eps = 1e-5;
  c.rope_theta = 500000;
  c.rope_scaling.type = RopeScalingType::kLlama3;
  c.rope_scaling.factor = 8;
  c.rope_scaling.low_freq_factor = 1;
  c.rope_scaling.high_freq_factor = 4;
  c.rope_scaling.original_max_position_embeddings = 32;
  c.tie_word_embeddings = true;
  return c;
}

WeightFn random_weights(uint32_t seed) {
  return [seed](const std::string& name, int64_t numel) -> Result<std::vector<float>> {
    std::mt19937 rng(seed ^ static_cast<uint32_t>(std::hash<std::string>{}(name)));
    std::normal_distribution<float> n(0.0f, 1.0f);
    std::vector<float> v(static_cast<size_t>(numel));
    const bool norm = name.find("norm") != std::string::npos;
    const bool bias = name.find("bias") != std::string::npos;
    for (float& x : v) x = norm ? 1.0f + 0.1f * n(rng) : (bias ? 0.1f * n(rng) : 0.08f * n(rng));
    return v;
  };
}

}  // namespace r1vk::testing
