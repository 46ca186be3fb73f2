#include <doctest/doctest.h>

#include "import/config_writer.h"
#include "import/config_parser.h"
#include "import/import_test_util.h"

namespace r1vk {
namespace {

// Field values from MODEL_SPEC.md §1, in the published config.json layout.
const char* kR1Config = R"({
  "architectures": ["DeepseekV3ForCausalLM"], "model_type": "deepseek_v3", "vocab_size": 129280,
  "hidden_size": 7168, "intermediate_size": 18432, "moe_intermediate_size": 2048, "num_hidden_layers": 61,
  "num_nextn_predict_layers": 1, "num_attention_heads": 128, "num_key_value_heads": 128,
  "n_shared_experts": 1, "n_routed_experts": 256, "ep_size": 1, "routed_scaling_factor": 2.5,
  "kv_lora_rank": 512, "q_lora_rank": 1536, "qk_rope_head_dim": 64, "v_head_dim": 128, "qk_nope_head_dim": 128,
  "topk_method": "noaux_tc", "n_group": 8, "topk_group": 4, "num_experts_per_tok": 8, "moe_layer_freq": 1,
  "first_k_dense_replace": 3, "norm_topk_prob": true, "scoring_func": "sigmoid", "hidden_act": "silu",
  "max_position_embeddings": 163840, "rms_norm_eps": 1e-06, "bos_token_id": 0, "eos_token_id": 1,
  "tie_word_embeddings": false, "rope_theta": 10000, "attention_bias": false, "torch_dtype": "bfloat16",
  "rope_scaling": {"beta_fast": 32, "beta_slow": 1, "factor": 40, "mscale": 1.0, "mscale_all_dim": 1.0,
                   "original_max_position_embeddings": 4096, "type": "yarn"},
  "quantization_config": {"activation_scheme": "dynamic", "fmt": "e4m3", "quant_method": "fp8",
                          "weight_block_size": [128, 128]}
})";

const char* kV2LiteConfig = R"({
  "architectures": ["DeepseekV2ForCausalLM"], "model_type": "deepseek_v2", "vocab_size": 102400,
  "hidden_size": 2048, "intermediate_size": 10944, "moe_intermediate_size": 1408, "num_hidden_layers": 27,
  "num_attention_heads": 16, "num_key_value_heads": 16, "n_shared_experts": 2, "n_routed_experts": 64,
  "routed_scaling_factor": 1.0, "kv_lora_rank": 512, "q_lora_rank": null, "qk_rope_head_dim": 64,
  "v_head_dim": 128, "qk_nope_head_dim": 128, "topk_method": "greedy", "n_group": 1, "topk_group": 1,
  "num_experts_per_tok": 6, "moe_layer_freq": 1, "first_k_dense_replace": 1, "norm_topk_prob": false,
  "scoring_func": "softmax", "aux_loss_alpha": 0.001, "seq_aux": true, "hidden_act": "silu",
  "max_position_embeddings": 163840, "rms_norm_eps": 1e-06, "bos_token_id": 100000, "eos_token_id": 100001,
  "tie_word_embeddings": false, "rope_theta": 10000, "attention_bias": false,
  "rope_scaling": {"beta_fast": 32, "beta_slow": 1, "factor": 40, "mscale": 0.707, "mscale_all_dim": 0.707,
                   "original_max_position_embeddings": 4096, "type": "yarn"}
})";

const char* kQwenConfig = R"({
  "architectures": ["Qwen2ForCausalLM"], "model_type": "qwen2", "vocab_size": 151936, "hidden_size": 1536,
  "intermediate_size": 8960, "num_hidden_layers": 28, "num_attention_heads": 12, "num_key_value_heads": 2,
  "hidden_act": "silu", "max_position_embeddings": 131072, "rms_norm_eps": 1e-06, "rope_theta": 10000,
  "sliding_window": 4096, "use_sliding_window": false, "max_window_layers": 21, "tie_word_embeddings": false,
  "bos_token_id": 151643, "eos_token_id": 151643, "torch_dtype": "bfloat16", "rope_scaling": null
})";

const char* kLlamaConfig = R"({
  "architectures": ["LlamaForCausalLM"], "model_type": "llama", "vocab_size": 128256, "hidden_size": 4096,
  "intermediate_size": 14336, "num_hidden_layers": 32, "num_attention_heads": 32, "num_key_value_heads": 8,
  "hidden_act": "silu", "max_position_embeddings": 131072, "rms_norm_eps": 1e-05, "rope_theta": 500000.0,
  "rope_scaling": {"factor": 8.0, "low_freq_factor": 1.0, "high_freq_factor": 4.0,
                   "original_max_position_embeddings": 8192, "rope_type": "llama3"},
  "attention_bias": false, "mlp_bias": false, "pretraining_tp": 1, "tie_word_embeddings": false,
  "bos_token_id": 128000, "eos_token_id": 128001
})";

ModelConfig parse_ok(const std::string& text) {
  auto json = parse_json(text, "config.json");
  REQUIRE(json.ok());
  auto config = parse_model_config(*json);
  if (!config.ok()) FAIL(config.error().message());
  return *config;
}

TEST_CASE("R1 config: MLA, noaux_tc routing, yarn, FP8 and MTP") {
  const ModelConfig c = parse_ok(kR1Config);
  CHECK(c.arch == Architecture::kDeepseekV3);
  CHECK(c.mla.q_lora_rank == 1536);
  CHECK(c.mla.kv_lora_rank == 512);
  CHECK(c.moe.n_routed_experts == 256);
  CHECK(c.moe.topk_method == TopkMethod::kNoauxTc);
  CHECK(c.moe.scoring_func == ScoringFunc::kSigmoid);
  CHECK(c.moe.has_correction_bias);
  CHECK(c.moe.routed_scaling_factor == 2.5);
  CHECK(c.rope_scaling.type == RopeScalingType::kYarn);
  CHECK(c.rope_scaling.factor == 40);
  CHECK(c.rope_scaling.original_max_position_embeddings == 4096);
  CHECK(c.fp8.enabled);
  CHECK(c.fp8.block_n == 128);
  CHECK(c.num_nextn_predict_layers == 1);
  CHECK(c.is_moe_layer(3));
  CHECK_FALSE(c.is_moe_layer(2));
  CHECK(c.rope_style() == RopeStyle::kInterleaved);
}

TEST_CASE("V2-Lite config: no q LoRA, greedy softmax routing, no correction bias") {
  const ModelConfig c = parse_ok(kV2LiteConfig);
  CHECK(c.arch == Architecture::kDeepseekV2);
  CHECK(c.mla.q_lora_rank == 0);
  CHECK(c.moe.topk_method == TopkMethod::kGreedy);
  CHECK(c.moe.scoring_func == ScoringFunc::kSoftmax);
  CHECK_FALSE(c.moe.has_correction_bias);
  CHECK(c.rope_scaling.mscale_all_dim == doctest::Approx(0.707));
  CHECK_FALSE(c.fp8.enabled);
}

TEST_CASE("V2 with q LoRA and group_limited_greedy routing") {
  auto json = parse_json(kV2LiteConfig, "config.json");
  REQUIRE(json.ok());
  (*json)["q_lora_rank"] = 1536;
  (*json)["topk_method"] = "group_limited_greedy";
  (*json)["n_group"] = 8;
  (*json)["topk_group"] = 3;
  auto c = parse_model_config(*json);
  REQUIRE(c.ok());
  CHECK(c->mla.q_lora_rank == 1536);
  CHECK(c->moe.topk_method == TopkMethod::kGroupLimitedGreedy);
  CHECK(c->moe.n_group == 8);
}

TEST_CASE("Qwen2 and Llama distills: GQA, biases, llama3 rope scaling, eos lists") {
  const ModelConfig q = parse_ok(kQwenConfig);
  CHECK(q.arch == Architecture::kQwen2);
  CHECK(q.head_dim == 128);
  CHECK(q.num_key_value_heads == 2);
  CHECK(q.attention_qkv_bias);
  CHECK(q.rope_scaling.type == RopeScalingType::kNone);
  CHECK(q.rope_style() == RopeStyle::kNeox);

  const ModelConfig l = parse_ok(kLlamaConfig);
  CHECK(l.arch == Architecture::kLlama);
  CHECK_FALSE(l.attention_qkv_bias);
  CHECK(l.rope_scaling.type == RopeScalingType::kLlama3);
  CHECK(l.rope_scaling.high_freq_factor == 4.0);
  CHECK(l.rope_scaling.original_max_position_embeddings == 8192);

  auto json = parse_json(kLlamaConfig, "config.json");
  REQUIRE(json.ok());
  (*json)["eos_token_id"] = {128001, 128008, 128009};
  auto listed = parse_model_config(*json);
  REQUIRE(listed.ok());
  CHECK(listed->eos_token_id == 128001);
}

TEST_CASE("bos/eos ids that do not fit the vocabulary are warnings, never refusals") {
  struct Case {
    const char* name;
    Json bos, eos;
    int64_t want_bos, want_eos;
    size_t warnings;
    const char* message;
  };
  const Case cases[] = {
      {"fine", 128000, 128001, 128000, 128001, 0, ""},
      {"bos null", nullptr, 128001, -1, 128001, 0, ""},
      {"bos at vocab_size", 128256, 128001, -1, 128001, 1,
       "config.json: field 'bos_token_id': 128256 is not a token id in the vocabulary (vocab_size 128256); ignored"},
      {"eos far outside", 128000, 999999, 128000, -1, 1, "field 'eos_token_id': 999999 is not a token id in the vocabulary"},
      {"eos list, first entry bad", 128000, Json::array({-1, 128009}), 128000, 128009, 1, "field 'eos_token_id': list entry -1 is not"},
      {"eos empty list", 128000, Json::array(), 128000, -1, 1, "field 'eos_token_id' is an empty list"},
      {"eos a string", "</s>", "</s>", -1, -1, 2, "field 'eos_token_id': \"</s>\" is not a token id"},
  };
  for (const Case& k : cases) {
    CAPTURE(k.name);
    auto json = parse_json(kLlamaConfig, "config.json");
    REQUIRE(json.ok());
    (*json)["bos_token_id"] = k.bos;
    (*json)["eos_token_id"] = k.eos;
    std::vector<std::string> warnings;
    auto c = parse_model_config(*json, &warnings);
    if (!c.ok()) FAIL(c.error().message());
    CHECK(c->bos_token_id == k.want_bos);
    CHECK(c->eos_token_id == k.want_eos);
    REQUIRE(warnings.size() == k.warnings);
    if (k.warnings > 0) CHECK(warnings.back().find(k.message) != std::string::npos);
    CHECK(parse_model_config(*json).ok());  // the same without a warnings sink
  }
}

TEST_CASE("every preset round-trips through config.json") {
  for (const std::string& name : gen::preset_names()) {
    CAPTURE(name);
    ModelConfig c = testing::preset(name);
    if (c.bos_token_id < 0) {
      c.bos_token_id = 3;
      c.eos_token_id = 4;
    }
    const ModelConfig back = parse_ok(model_config_to_json(c).dump());
    CHECK(back.arch == c.arch);
    CHECK(back.hidden_size == c.hidden_size);
    CHECK(back.head_dim == c.head_dim);
    CHECK(back.num_key_value_heads == c.num_key_value_heads);
    CHECK(back.mla.q_lora_rank == c.mla.q_lora_rank);
    CHECK(back.mla.v_head_dim == c.mla.v_head_dim);
    CHECK(back.moe.n_routed_experts == c.moe.n_routed_experts);
    CHECK(back.moe.n_group == c.moe.n_group);
    CHECK(back.moe.topk_method == c.moe.topk_method);
    CHECK(back.moe.routed_scaling_factor == c.moe.routed_scaling_factor);
    CHECK(back.rope_scaling.type == c.rope_scaling.type);
    CHECK(back.rope_scaling.mscale == c.rope_scaling.mscale);
    CHECK(back.fp8.enabled == c.fp8.enabled);
    CHECK(back.num_nextn_predict_layers == c.num_nextn_predict_layers);
    CHECK(back.bos_token_id == c.bos_token_id);
    CHECK(back.rms_norm_eps == c.rms_norm_eps);
  }
}

}  // namespace
}  // namespace r1vk
