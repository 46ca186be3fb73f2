// The architecture facts r1vk needs from a Hugging Face config.json, normalised across the four
// supported families (MODEL_SPEC.md §1). Parsed and validated by config_parser.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace r1vk {

enum class Architecture {
  kDeepseekV3,  // DeepseekV3ForCausalLM: R1, R1-Zero, V3
  kDeepseekV2,  // DeepseekV2ForCausalLM: V2, V2-Lite
  kQwen2,       // Qwen2ForCausalLM: R1-Distill-Qwen
  kLlama,       // LlamaForCausalLM: R1-Distill-Llama
};

const char* architecture_name(Architecture arch);  // the config.json "architectures" string

// DeepSeek rotates adjacent pairs (x[2i], x[2i+1]); the distills rotate halves (x[i], x[i+d/2]).
enum class RopeStyle { kInterleaved, kNeox };

enum class RopeScalingType { kNone, kYarn, kLlama3 };

struct RopeScaling {
  RopeScalingType type = RopeScalingType::kNone;
  double factor = 1.0;
  int64_t original_max_position_embeddings = 0;
  // yarn
  double beta_fast = 32.0;
  double beta_slow = 1.0;
  double mscale = 1.0;
  double mscale_all_dim = 0.0;
  // llama3
  double low_freq_factor = 1.0;
  double high_freq_factor = 4.0;
  // llama3 from a GGUF file: llama.cpp stores the scaling as one divisor per frequency (the
  // `rope_freqs` tensor). When non-empty (rope_dim / 2 entries) it replaces the formula above.
  std::vector<double> freq_divisors;
};

// Multi-head latent attention (DeepSeek only).
struct MlaConfig {
  int64_t q_lora_rank = 0;  // 0: no q LoRA, one q_proj (V2-Lite)
  int64_t kv_lora_rank = 0;
  int64_t qk_nope_head_dim = 0;
  int64_t qk_rope_head_dim = 0;
  int64_t v_head_dim = 0;
};

enum class ScoringFunc { kSoftmax, kSigmoid };
// greedy: plain top-k; group_limited_greedy: V2 groups scored by their max; noaux_tc: V3/R1
// groups scored by the sum of their top-2 biased scores.
enum class TopkMethod { kGreedy, kGroupLimitedGreedy, kNoauxTc };

struct MoeConfig {
  int64_t n_routed_experts = 0;  // 0: dense model
  int64_t n_shared_experts = 0;
  int64_t num_experts_per_tok = 0;
  int64_t moe_intermediate_size = 0;
  int64_t first_k_dense_replace = 0;
  int64_t moe_layer_freq = 1;
  int64_t n_group = 1;
  int64_t topk_group = 1;
  double routed_scaling_factor = 1.0;
  bool norm_topk_prob = false;
  ScoringFunc scoring_func = ScoringFunc::kSoftmax;
  TopkMethod topk_method = TopkMethod::kGreedy;
  bool has_correction_bias = false;  // e_score_correction_bias (noaux_tc)
};

// quantization_config {quant_method: fp8, fmt: e4m3, weight_block_size: [n, k]}.
struct Fp8Config {
  bool enabled = false;
  int64_t block_n = 128;
  int64_t block_k = 128;
};

struct ModelConfig {
  Architecture arch = Architecture::kDeepseekV3;
  int64_t vocab_size = 0;
  int64_t hidden_size = 0;
  int64_t intermediate_size = 0;  // dense MLP width
  int64_t num_hidden_layers = 0;  // excludes MTP layers
  int64_t num_attention_heads = 0;
  int64_t num_key_value_heads = 0;  // GQA (distills); equals heads for DeepSeek
  int64_t head_dim = 0;             // GQA (distills)
  double rms_norm_eps = 1e-6;
  double rope_theta = 10000.0;
  RopeScaling rope_scaling;
  int64_t max_position_embeddings = 0;
  bool tie_word_embeddings = false;
  bool attention_qkv_bias = false;  // Qwen2: q/k/v projections have biases
  // Metadata only: nothing runs on these (the tokenizer's ids are used). -1: absent or unusable
  // (outside the vocabulary, wrong type), which parse_model_config reports as a warning.
  int64_t bos_token_id = -1;
  int64_t eos_token_id = -1;
  MlaConfig mla;
  MoeConfig moe;
  Fp8Config fp8;
  int64_t num_nextn_predict_layers = 0;  // MTP layers stored after the main layers
  // Set by import_model from the tensors present, not from config.json. The MTP layer's
  // embed_tokens and shared_head.head are the main model's (DeepSeek's README_WEIGHTS), and some
  // checkpoints omit them: then the MTP program reads the main model's embedding / head.
  bool mtp_shares_embedding = false;
  bool mtp_shares_head = false;

  bool is_deepseek() const { return arch == Architecture::kDeepseekV3 || arch == Architecture::kDeepseekV2; }
  RopeStyle rope_style() const { return is_deepseek() ? RopeStyle::kInterleaved : RopeStyle::kNeox; }
  // True when layer `layer` (0-based, MTP layers included) has a routed-expert FFN.
  bool is_moe_layer(int64_t layer) const {
    return moe.n_routed_experts > 0 && layer >= moe.first_k_dense_replace &&
           layer % moe.moe_layer_freq == 0;
  }
  // Rotary dimension: qk_rope_head_dim for MLA, head_dim for the distills.
  int64_t rope_dim() const { return is_deepseek() ? mla.qk_rope_head_dim : head_dim; }
};

}  // namespace r1vk
