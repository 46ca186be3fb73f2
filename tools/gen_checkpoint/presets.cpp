#include "presets.h"

namespace r1vk::gen {
namespace {

RopeScaling yarn(double mscale) {
  RopeScaling s;
  s.type = RopeScalingType::kYarn;
  s.factor = 40;
  s.original_max_position_embeddings = 4096;
  s.beta_fast = 32;
  s.beta_slow = 1;
  s.mscale = mscale;
  s.mscale_all_dim = mscale;
  return s;
}

ModelConfig r1_like() {
  ModelConfig c;
  c.arch = Architecture::kDeepseekV3;
  c.rms_norm_eps = 1e-6;
  c.rope_theta = 10000;
  c.rope_scaling = yarn(1.0);
  c.max_position_embeddings = 163840;
  c.mla = {1536, 512, 128, 64, 128};
  c.moe.scoring_func = ScoringFunc::kSigmoid;
  c.moe.topk_method = TopkMethod::kNoauxTc;
  c.moe.has_correction_bias = true;
  c.moe.norm_topk_prob = true;
  c.moe.routed_scaling_factor = 2.5;
  c.num_nextn_predict_layers = 1;
  return c;
}

ModelConfig tiny_r1() {
  ModelConfig c = r1_like();
  c.vocab_size = 613;
  c.hidden_size = 320;
  c.intermediate_size = 544;
  c.num_hidden_layers = 3;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 4;
  c.mla.q_lora_rank = 192;
  c.moe.n_routed_experts = 8;
  c.moe.n_shared_experts = 1;
  c.moe.num_experts_per_tok = 2;
  c.moe.moe_intermediate_size = 160;
  c.moe.first_k_dense_replace = 1;
  c.moe.n_group = 4;
  c.moe.topk_group = 2;
  return c;
}

ModelConfig r1() {
  ModelConfig c = r1_like();
  c.vocab_size = 129280;
  c.hidden_size = 7168;
  c.intermediate_size = 18432;
  c.num_hidden_layers = 61;
  c.num_attention_heads = 128;
  c.num_key_value_heads = 128;
  c.bos_token_id = 0;
  c.eos_token_id = 1;
  c.moe.n_routed_experts = 256;
  c.moe.n_shared_experts = 1;
  c.moe.num_experts_per_tok = 8;
  c.moe.moe_intermediate_size = 2048;
  c.moe.first_k_dense_replace = 3;
  c.moe.n_group = 8;
  c.moe.topk_group = 4;
  c.fp8.enabled = true;
  return c;
}

ModelConfig v2_lite_like() {
  ModelConfig c;
  c.arch = Architecture::kDeepseekV2;
  c.rms_norm_eps = 1e-6;
  c.rope_theta = 10000;
  c.rope_scaling = yarn(0.707);
  c.max_position_embeddings = 163840;
  c.moe.scoring_func = ScoringFunc::kSoftmax;
  c.moe.topk_method = TopkMethod::kGreedy;
  c.moe.norm_topk_prob = false;
  c.moe.routed_scaling_factor = 1.0;
  c.moe.n_group = 1;
  c.moe.topk_group = 1;
  c.moe.first_k_dense_replace = 1;
  c.moe.n_shared_experts = 2;
  return c;
}

ModelConfig tiny_v2_lite() {
  ModelConfig c = v2_lite_like();
  c.vocab_size = 557;
  c.hidden_size = 288;
  c.intermediate_size = 480;
  c.num_hidden_layers = 3;
  c.num_attention_heads = 4;
  c.num_key_value_heads = 4;
  c.mla = {0, 96, 48, 32, 40};
  c.moe.n_routed_experts = 6;
  c.moe.num_experts_per_tok = 2;
  c.moe.moe_intermediate_size = 72;
  return c;
}

ModelConfig v2_lite() {
  ModelConfig c = v2_lite_like();
  c.vocab_size = 102400;
  c.hidden_size = 2048;
  c.intermediate_size = 10944;
  c.num_hidden_layers = 27;
  c.num_attention_heads = 16;
  c.num_key_value_heads = 16;
  c.bos_token_id = 100000;
  c.eos_token_id = 100001;
  c.mla = {0, 512, 128, 64, 128};
  c.moe.n_routed_experts = 64;
  c.moe.num_experts_per_tok = 6;
  c.moe.moe_intermediate_size = 1408;
  return c;
}

ModelConfig distill(Architecture arch) {
  ModelConfig c;
  c.arch = arch;
  c.attention_qkv_bias = arch == Architecture::kQwen2;
  c.max_position_embeddings = 131072;
  return c;
}

ModelConfig tiny_qwen2() {
  ModelConfig c = distill(Architecture::kQwen2);
  c.vocab_size = 541;
  c.hidden_size = 192;
  c.intermediate_size = 400;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 6;
  c.num_key_value_heads = 2;
  c.head_dim = 32;
  c.rms_norm_eps = 1e-6;
  c.rope_theta = 10000;
  return c;
}

ModelConfig distill_qwen_1_5b() {
  ModelConfig c = distill(Architecture::kQwen2);
  c.vocab_size = 151936;
  c.hidden_size = 1536;
  c.intermediate_size = 8960;
  c.num_hidden_layers = 28;
  c.num_attention_heads = 12;
  c.num_key_value_heads = 2;
  c.head_dim = 128;
  c.rms_norm_eps = 1e-6;
  c.rope_theta = 10000;
  c.bos_token_id = 151646;
  c.eos_token_id = 151643;
  return c;
}

RopeScaling llama3_scaling() {
  RopeScaling s;
  s.type = RopeScalingType::kLlama3;
  s.factor = 8;
  s.low_freq_factor = 1;
  s.high_freq_factor = 4;
  s.original_max_position_embeddings = 8192;
  return s;
}

ModelConfig tiny_llama3() {
  ModelConfig c = distill(Architecture::kLlama);
  c.vocab_size = 529;
  c.hidden_size = 256;
  c.intermediate_size = 448;
  c.num_hidden_layers = 2;
  c.num_attention_heads = 8;
  c.num_key_value_heads = 2;
  c.head_dim = 32;
  c.rms_norm_eps = 1e-5;
  c.rope_theta = 500000;
  c.rope_scaling = llama3_scaling();
  return c;
}

ModelConfig distill_llama_8b() {
  ModelConfig c = distill(Architecture::kLlama);
  c.vocab_size = 128256;
  c.hidden_size = 4096;
  c.intermediate_size = 14336;
  c.num_hidden_layers = 32;
  c.num_attention_heads = 32;
  c.num_key_value_heads = 8;
  c.head_dim = 128;
  c.rms_norm_eps = 1e-5;
  c.rope_theta = 500000;
  c.rope_scaling = llama3_scaling();
  c.bos_token_id = 128000;
  c.eos_token_id = 128001;
  return c;
}

struct Preset {
  const char* name;
  ModelConfig (*make)();
};

const Preset kPresets[] = {
    {"tiny-r1", tiny_r1},         {"tiny-v2-lite", tiny_v2_lite}, {"tiny-qwen2", tiny_qwen2},
    {"tiny-llama3", tiny_llama3}, {"v2-lite", v2_lite},           {"r1", r1},
    {"distill-qwen-1.5b", distill_qwen_1_5b}, {"distill-llama-8b", distill_llama_8b},
};

}  // namespace

std::vector<std::string> preset_names() {
  std::vector<std::string> names;
  for (const Preset& p : kPresets) names.emplace_back(p.name);
  return names;
}

Result<ModelConfig> preset_config(const std::string& name) {
  for (const Preset& p : kPresets) {
    if (name == p.name) return p.make();
  }
  std::string known;
  for (const Preset& p : kPresets) known += (known.empty() ? "" : ", ") + std::string(p.name);
  return make_error(ErrorCode::kInvalidArgument, "unknown preset '" + name + "' (known: " + known + ")");
}

}  // namespace r1vk::gen
