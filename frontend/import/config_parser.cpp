#include "import/config_parser.h"

#include <optional>

#include "import/config_fields.h"
#include "import/config_limits.h"

namespace r1vk {
namespace {

using namespace config_limits;
constexpr double kMaxFactor = 1024.0;

Result<Architecture> parse_architecture(const ConfigFields& f) {
  if (!f.has("architectures")) return f.error("architectures", "missing");
  const Json& list = f.raw("architectures");
  if (!list.is_array() || list.empty() || !list[0].is_string()) {
    return f.error("architectures", "expected a non-empty array of strings");
  }
  const auto& name = list[0].get_ref<const std::string&>();
  for (Architecture a : {Architecture::kDeepseekV3, Architecture::kDeepseekV2, Architecture::kQwen2, Architecture::kLlama}) {
    if (name == architecture_name(a)) return a;
  }
  return f.error("architectures",
                 "unknown architecture '" + name +
                     "' (supported: DeepseekV3ForCausalLM, DeepseekV2ForCausalLM, Qwen2ForCausalLM, LlamaForCausalLM)",
                 ErrorCode::kUnsupported);
}

Status parse_rope_scaling(const ConfigFields& f, ModelConfig& c) {
  if (!f.has("rope_scaling")) return ok_status();
  const Json& obj = f.raw("rope_scaling");
  if (!obj.is_object()) return f.error("rope_scaling", std::string("expected an object or null, got ") + json_type_name(obj));
  const ConfigFields r(obj, "rope_scaling.");
  R1VK_ASSIGN_OR_RETURN(std::string type, r.string_or("type", ""));
  const char* type_key = "type";
  if (type.empty()) {
    R1VK_ASSIGN_OR_RETURN(type, r.string_or("rope_type", ""));
    type_key = "rope_type";
  }
  RopeScaling& s = c.rope_scaling;
  if (type == "default") return ok_status();
  if (type == "yarn" && c.is_deepseek()) {
    s.type = RopeScalingType::kYarn;
    R1VK_ASSIGN_OR_RETURN(s.factor, r.number("factor", 1.0, kMaxFactor));
    R1VK_ASSIGN_OR_RETURN(s.original_max_position_embeddings, r.integer("original_max_position_embeddings", 1, kMaxPositions));
    R1VK_ASSIGN_OR_RETURN(s.beta_fast, r.number_or("beta_fast", 32.0, 1e-3, 1e4));
    R1VK_ASSIGN_OR_RETURN(s.beta_slow, r.number_or("beta_slow", 1.0, 1e-3, 1e4));
    R1VK_ASSIGN_OR_RETURN(s.mscale, r.number_or("mscale", 1.0, 0.0, 100.0));
    R1VK_ASSIGN_OR_RETURN(s.mscale_all_dim, r.number_or("mscale_all_dim", 0.0, 0.0, 100.0));
    return ok_status();
  }
  if (type == "llama3" && c.arch == Architecture::kLlama) {
    s.type = RopeScalingType::kLlama3;
    R1VK_ASSIGN_OR_RETURN(s.factor, r.number("factor", 1.0, kMaxFactor));
    R1VK_ASSIGN_OR_RETURN(s.original_max_position_embeddings, r.integer("original_max_position_embeddings", 1, kMaxPositions));
    R1VK_ASSIGN_OR_RETURN(s.low_freq_factor, r.number("low_freq_factor", 1e-3, 1e4));
    R1VK_ASSIGN_OR_RETURN(s.high_freq_factor, r.number("high_freq_factor", 1e-3, 1e4));
    return ok_status();
  }
  return r.error(type_key, "rope scaling '" + type + "' is not supported for " + architecture_name(c.arch),
                 ErrorCode::kUnsupported);
}

// bos/eos ids are metadata: the runtime takes its special tokens from the tokenizer files and
// checks every token id where it is fed. So an id that does not fit (outside the vocabulary,
// not an integer, an empty list) is a warning and reads as absent, never a refusal.
std::optional<int64_t> token_id(const Json& value, int64_t vocab_size) {
  const auto v = json_to_int(value);
  if (!v || *v < 0 || *v >= vocab_size) return std::nullopt;
  return v;
}

void parse_token_ids(const ConfigFields& f, ModelConfig& c, std::vector<std::string>& warnings) {
  const std::string vocab = " (vocab_size " + std::to_string(c.vocab_size) + ")";
  const std::string ignored = "; ignored (r1vk's special tokens come from the tokenizer files)";
  if (f.has("bos_token_id")) {
    const Json& bos = f.raw("bos_token_id");
    if (auto id = token_id(bos, c.vocab_size)) {
      c.bos_token_id = *id;
    } else {
      warnings.push_back("config.json: field 'bos_token_id': " + bos.dump() + " is not a token id in the vocabulary" +
                         vocab + ignored);
    }
  }
  if (!f.has("eos_token_id")) return;
  const Json& eos = f.raw("eos_token_id");
  // A list (Llama 3, some re-uploads) names every id that ends generation; the first usable one is kept.
  const Json list = eos.is_array() ? eos : Json::array({eos});
  for (const Json& id : list) {
    if (auto v = token_id(id, c.vocab_size)) {
      if (c.eos_token_id < 0) c.eos_token_id = *v;
    } else {
      warnings.push_back("config.json: field 'eos_token_id': " + (eos.is_array() ? "list entry " : std::string()) +
                         id.dump() + " is not a token id in the vocabulary" + vocab + ignored);
    }
  }
  if (list.empty()) warnings.push_back("config.json: field 'eos_token_id' is an empty list" + ignored);
}

Status parse_quantization(const ConfigFields& f, ModelConfig& c) {
  if (!f.has("quantization_config")) return ok_status();
  const Json& obj = f.raw("quantization_config");
  if (!obj.is_object()) return f.error("quantization_config", "expected an object");
  const ConfigFields q(obj, "quantization_config.");
  R1VK_ASSIGN_OR_RETURN(std::string method, q.string_or("quant_method", ""));
  if (method != "fp8") return q.error("quant_method", "'" + method + "' is not supported (only fp8)", ErrorCode::kUnsupported);
  R1VK_ASSIGN_OR_RETURN(std::string fmt, q.string_or("fmt", "e4m3"));
  if (fmt != "e4m3") return q.error("fmt", "'" + fmt + "' is not supported (only e4m3)", ErrorCode::kUnsupported);
  R1VK_ASSIGN_OR_RETURN(std::string act, q.string_or("activation_scheme", "dynamic"));
  if (act != "dynamic") return q.error("activation_scheme", "'" + act + "' is not supported (only dynamic)", ErrorCode::kUnsupported);
  c.fp8.enabled = true;
  if (q.has("weight_block_size")) {
    const Json& b = q.raw("weight_block_size");
    int64_t n = 0;
    int64_t k = 0;
    if (b.is_array() && b.size() == 2) {
      n = json_to_int(b[0]).value_or(0);
      k = json_to_int(b[1]).value_or(0);
    }
    if (n < 1 || k < 1 || n > 4096 || k > 4096) {
      return q.error("weight_block_size", "expected [n, k] with 1 <= n, k <= 4096, got " + b.dump());
    }
    c.fp8.block_n = n;
    c.fp8.block_k = k;
  }
  return ok_status();
}

Status parse_deepseek(const ConfigFields& f, ModelConfig& c) {
  const bool v3 = c.arch == Architecture::kDeepseekV3;
  MlaConfig& m = c.mla;
  R1VK_ASSIGN_OR_RETURN(m.q_lora_rank, f.integer_or("q_lora_rank", 0, 1, kMaxDim));
  R1VK_ASSIGN_OR_RETURN(m.kv_lora_rank, f.integer("kv_lora_rank", 1, kMaxDim));
  R1VK_ASSIGN_OR_RETURN(m.qk_nope_head_dim, f.integer("qk_nope_head_dim", 1, kMaxDim));
  R1VK_ASSIGN_OR_RETURN(m.qk_rope_head_dim, f.integer("qk_rope_head_dim", 2, kMaxDim));
  R1VK_ASSIGN_OR_RETURN(m.v_head_dim, f.integer("v_head_dim", 1, kMaxDim));
  R1VK_ASSIGN_OR_RETURN(int64_t kv_heads, f.integer_or("num_key_value_heads", c.num_attention_heads, 1, kMaxHeads));
  (void)kv_heads;  // MLA has no KV heads; the field is type-checked only
  c.num_key_value_heads = c.num_attention_heads;
  R1VK_ASSIGN_OR_RETURN(bool attention_bias, f.boolean_or("attention_bias", false));
  if (attention_bias) return f.error("attention_bias", "true is not supported for MLA", ErrorCode::kUnsupported);

  MoeConfig& e = c.moe;
  R1VK_ASSIGN_OR_RETURN(e.n_routed_experts, f.integer_or("n_routed_experts", 0, 1, kMaxExperts));
  R1VK_ASSIGN_OR_RETURN(e.n_shared_experts, f.integer_or("n_shared_experts", 0, 0, kMaxExperts));
  R1VK_ASSIGN_OR_RETURN(e.num_experts_per_tok, f.integer_or("num_experts_per_tok", 0, 1, kMaxExperts));
  R1VK_ASSIGN_OR_RETURN(e.moe_intermediate_size, f.integer_or("moe_intermediate_size", 0, 1, kMaxDim));
  R1VK_ASSIGN_OR_RETURN(e.first_k_dense_replace, f.integer_or("first_k_dense_replace", 0, 0, kMaxLayers));
  R1VK_ASSIGN_OR_RETURN(e.moe_layer_freq, f.integer_or("moe_layer_freq", 1, 1, kMaxLayers));
  R1VK_ASSIGN_OR_RETURN(e.n_group, f.integer_or("n_group", 1, 1, kMaxExperts));
  R1VK_ASSIGN_OR_RETURN(e.topk_group, f.integer_or("topk_group", 1, 1, kMaxExperts));
  R1VK_ASSIGN_OR_RETURN(e.routed_scaling_factor, f.number_or("routed_scaling_factor", 1.0, 1e-6, 1e6));
  R1VK_ASSIGN_OR_RETURN(e.norm_topk_prob, f.boolean_or("norm_topk_prob", false));

  R1VK_ASSIGN_OR_RETURN(std::string scoring, f.string_or("scoring_func", v3 ? "sigmoid" : "softmax"));
  if (scoring == "sigmoid") {
    e.scoring_func = ScoringFunc::kSigmoid;
  } else if (scoring == "softmax") {
    e.scoring_func = ScoringFunc::kSoftmax;
  } else {
    return f.error("scoring_func", "unknown value '" + scoring + "' (sigmoid or softmax)", ErrorCode::kUnsupported);
  }
  R1VK_ASSIGN_OR_RETURN(std::string method, f.string_or("topk_method", v3 ? "noaux_tc" : "greedy"));
  if (method == "greedy") {
    e.topk_method = TopkMethod::kGreedy;
  } else if (method == "group_limited_greedy") {
    e.topk_method = TopkMethod::kGroupLimitedGreedy;
  } else if (method == "noaux_tc") {
    e.topk_method = TopkMethod::kNoauxTc;
  } else {
    return f.error("topk_method", "unknown value '" + method + "' (greedy, group_limited_greedy or noaux_tc)",
                   ErrorCode::kUnsupported);
  }
  e.has_correction_bias = e.topk_method == TopkMethod::kNoauxTc;
  R1VK_ASSIGN_OR_RETURN(c.num_nextn_predict_layers, f.integer_or("num_nextn_predict_layers", 0, 0, 16));
  return parse_quantization(f, c);
}

Status parse_distill(const ConfigFields& f, ModelConfig& c) {
  R1VK_ASSIGN_OR_RETURN(c.num_key_value_heads, f.integer_or("num_key_value_heads", c.num_attention_heads, 1, kMaxHeads));
  if (!f.has("head_dim") && c.hidden_size % c.num_attention_heads != 0) {
    return f.error("hidden_size", std::to_string(c.hidden_size) + " is not divisible by num_attention_heads (" +
                                      std::to_string(c.num_attention_heads) + ") and head_dim is not given");
  }
  R1VK_ASSIGN_OR_RETURN(c.head_dim, f.integer_or("head_dim", c.hidden_size / c.num_attention_heads, 2, kMaxDim));
  if (c.arch == Architecture::kQwen2) {
    c.attention_qkv_bias = true;
    R1VK_ASSIGN_OR_RETURN(bool sliding, f.boolean_or("use_sliding_window", false));
    if (sliding) return f.error("use_sliding_window", "true is not supported", ErrorCode::kUnsupported);
    R1VK_TRY(f.integer_or("sliding_window", 0, 0, kMaxPositions));
    R1VK_TRY(f.integer_or("max_window_layers", 0, 0, kMaxLayers));
  } else {
    R1VK_ASSIGN_OR_RETURN(bool attention_bias, f.boolean_or("attention_bias", false));
    if (attention_bias) return f.error("attention_bias", "true is not supported for Llama", ErrorCode::kUnsupported);
    R1VK_ASSIGN_OR_RETURN(bool mlp_bias, f.boolean_or("mlp_bias", false));
    if (mlp_bias) return f.error("mlp_bias", "true is not supported", ErrorCode::kUnsupported);
  }
  for (const char* key : {"quantization_config", "num_nextn_predict_layers", "n_routed_experts"}) {
    if (f.has(key) && !(f.raw(key).is_number_integer() && f.raw(key).get<int64_t>() == 0)) {
      return f.error(key, std::string("is not supported for ") + architecture_name(c.arch), ErrorCode::kUnsupported);
    }
  }
  return ok_status();
}

}  // namespace

const char* model_type_name(Architecture arch) {
  switch (arch) {
    case Architecture::kDeepseekV3: return "deepseek_v3";
    case Architecture::kDeepseekV2: return "deepseek_v2";
    case Architecture::kQwen2: return "qwen2";
    case Architecture::kLlama: return "llama";
  }
  return "unknown";
}

Result<ModelConfig> parse_model_config(const Json& json, std::vector<std::string>* warnings) {
  if (!json.is_object()) return make_error(ErrorCode::kCorruptData, "config is not a JSON object");
  const ConfigFields f(json, "");
  ModelConfig c;
  R1VK_ASSIGN_OR_RETURN(c.arch, parse_architecture(f));
  R1VK_ASSIGN_OR_RETURN(std::string model_type, f.string_or("model_type", model_type_name(c.arch)));
  if (model_type != model_type_name(c.arch)) {
    return f.error("model_type", "'" + model_type + "' does not match architecture " + architecture_name(c.arch) +
                                     " (expected '" + model_type_name(c.arch) + "')");
  }
  R1VK_ASSIGN_OR_RETURN(std::string act, f.string_or("hidden_act", "silu"));
  if (act != "silu") return f.error("hidden_act", "'" + act + "' is not supported (only silu)", ErrorCode::kUnsupported);
  R1VK_ASSIGN_OR_RETURN(c.vocab_size, f.integer("vocab_size", 1, kMaxVocab));
  R1VK_ASSIGN_OR_RETURN(c.hidden_size, f.integer("hidden_size", 1, kMaxDim));
  R1VK_ASSIGN_OR_RETURN(c.intermediate_size, f.integer("intermediate_size", 1, kMaxDim));
  R1VK_ASSIGN_OR_RETURN(c.num_hidden_layers, f.integer("num_hidden_layers", 1, kMaxLayers));
  R1VK_ASSIGN_OR_RETURN(c.num_attention_heads, f.integer("num_attention_heads", 1, kMaxHeads));
  R1VK_ASSIGN_OR_RETURN(c.rms_norm_eps, f.number("rms_norm_eps", 1e-12, 0.1));
  R1VK_ASSIGN_OR_RETURN(c.rope_theta, f.number_or("rope_theta", 10000.0, 1.0, 1e12));
  R1VK_ASSIGN_OR_RETURN(c.max_position_embeddings, f.integer("max_position_embeddings", 1, kMaxPositions));
  R1VK_ASSIGN_OR_RETURN(c.tie_word_embeddings, f.boolean_or("tie_word_embeddings", false));
  R1VK_TRY(f.string_or("torch_dtype", "bfloat16"));
  std::vector<std::string> notes;
  parse_token_ids(f, c, notes);
  if (c.is_deepseek()) {
    R1VK_TRY(parse_deepseek(f, c));
  } else {
    R1VK_TRY(parse_distill(f, c));
  }
  R1VK_TRY(parse_rope_scaling(f, c));
  R1VK_TRY(validate_model_config(c));
  if (warnings) warnings->insert(warnings->end(), notes.begin(), notes.end());
  return c;
}

Result<ModelConfig> load_model_config(const std::string& path, std::vector<std::string>* warnings) {
  auto json = read_json_file(path, kMaxConfigJsonBytes);
  if (!json.ok()) return std::move(json).error();
  auto config = parse_model_config(*json, warnings);
  if (!config.ok()) return std::move(config).error().with_context(path);
  return config;
}

}  // namespace r1vk
