#include "gguf_writer.h"

#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <map>

#include <nlohmann/json.hpp>

#include "base/ggml_blocks.h"
#include "base/numeric_formats.h"
#include "import/gguf_split.h"
#include "import/gguf_tensor_names.h"
#include "import/import_model.h"
#include "import/rope_frequencies.h"
#include "import/tensor_inventory.h"

namespace r1vk::gen {
namespace {

namespace fs = std::filesystem;

template <typename T>
std::vector<uint8_t> le(T v) {
  std::vector<uint8_t> out(sizeof(T));
  std::memcpy(out.data(), &v, sizeof(T));
  return out;
}

template <typename T>
void append(std::vector<uint8_t>& out, T v) {
  const auto b = le(v);
  out.insert(out.end(), b.begin(), b.end());
}

void pad_to(std::vector<uint8_t>& out, uint64_t alignment) {
  while (out.size() % alignment != 0) out.push_back(0);
}

}  // namespace

void put_u32(std::vector<uint8_t>& out, uint32_t v) { append(out, v); }
void put_u64(std::vector<uint8_t>& out, uint64_t v) { append(out, v); }
void put_string(std::vector<uint8_t>& out, const std::string& s) {
  append<uint64_t>(out, s.size());
  out.insert(out.end(), s.begin(), s.end());
}

void GgufBuilder::add(const std::string& key, uint32_t type, const std::vector<uint8_t>& payload) {
  std::vector<uint8_t> v;
  append(v, type);
  v.insert(v.end(), payload.begin(), payload.end());
  kv_.emplace_back(key, std::move(v));
}

void GgufBuilder::add_u8(const std::string& k, uint8_t v) { add(k, 0, le(v)); }
void GgufBuilder::add_i8(const std::string& k, int8_t v) { add(k, 1, le(v)); }
void GgufBuilder::add_u16(const std::string& k, uint16_t v) { add(k, 2, le(v)); }
void GgufBuilder::add_i16(const std::string& k, int16_t v) { add(k, 3, le(v)); }
void GgufBuilder::add_u32(const std::string& k, uint32_t v) { add(k, 4, le(v)); }
void GgufBuilder::add_i32(const std::string& k, int32_t v) { add(k, 5, le(v)); }
void GgufBuilder::add_f32(const std::string& k, float v) { add(k, 6, le(v)); }
void GgufBuilder::add_bool(const std::string& k, bool v) { add(k, 7, le<uint8_t>(v ? 1 : 0)); }
void GgufBuilder::add_u64(const std::string& k, uint64_t v) { add(k, 10, le(v)); }
void GgufBuilder::add_i64(const std::string& k, int64_t v) { add(k, 11, le(v)); }
void GgufBuilder::add_f64(const std::string& k, double v) { add(k, 12, le(v)); }
void GgufBuilder::add_string(const std::string& k, const std::string& v) {
  std::vector<uint8_t> p;
  put_string(p, v);
  add(k, 8, p);
}
void GgufBuilder::add_strings(const std::string& k, const std::vector<std::string>& v) {
  std::vector<uint8_t> p;
  append<uint32_t>(p, 8);
  append<uint64_t>(p, v.size());
  for (const auto& s : v) put_string(p, s);
  add(k, 9, p);
}
void GgufBuilder::add_i32s(const std::string& k, const std::vector<int32_t>& v) {
  std::vector<uint8_t> p;
  append<uint32_t>(p, 5);
  append<uint64_t>(p, v.size());
  for (int32_t x : v) append(p, x);
  add(k, 9, p);
}
void GgufBuilder::add_f32s(const std::string& k, const std::vector<float>& v) {
  std::vector<uint8_t> p;
  append<uint32_t>(p, 6);
  append<uint64_t>(p, v.size());
  for (float x : v) append(p, x);
  add(k, 9, p);
}
void GgufBuilder::add_raw(const std::string& k, uint32_t type, const std::vector<uint8_t>& payload) { add(k, type, payload); }

void GgufBuilder::add_tensor(const std::string& name, std::vector<uint64_t> dims, GgmlType type, std::vector<uint8_t> data) {
  tensors_.push_back({name, std::move(dims), static_cast<uint32_t>(type), std::move(data), false, 0});
}

void GgufBuilder::add_tensor_at(const std::string& name, std::vector<uint64_t> dims, uint32_t type, std::vector<uint8_t> data,
                                uint64_t offset) {
  tensors_.push_back({name, std::move(dims), type, std::move(data), true, offset});
}

std::vector<uint8_t> GgufBuilder::bytes() const {
  std::vector<uint8_t> out;
  append<uint32_t>(out, 0x46554747);
  append(out, version);
  append<uint64_t>(out, tensors_.size());
  append<uint64_t>(out, kv_.size());
  for (const auto& [key, value] : kv_) {
    put_string(out, key);
    out.insert(out.end(), value.begin(), value.end());
  }
  // Offsets: packed in order, each aligned, unless forced.
  std::vector<uint64_t> offsets;
  uint64_t next = 0;
  for (const Tensor& t : tensors_) {
    const uint64_t at = t.forced ? t.offset : next;
    offsets.push_back(at);
    next = at + t.data.size();
    next = (next + alignment - 1) / alignment * alignment;
  }
  for (size_t k = 0; k < tensors_.size(); ++k) {
    const Tensor& t = tensors_[k];
    put_string(out, t.name);
    append<uint32_t>(out, static_cast<uint32_t>(t.dims.size()));
    for (uint64_t d : t.dims) append(out, d);
    append(out, t.type);
    append(out, offsets[k]);
  }
  pad_to(out, alignment);
  const size_t data_start = out.size();
  for (size_t k = 0; k < tensors_.size(); ++k) {
    const size_t at = data_start + static_cast<size_t>(offsets[k]);
    if (out.size() < at + tensors_[k].data.size()) out.resize(at + tensors_[k].data.size(), 0);
    std::memcpy(out.data() + at, tensors_[k].data.data(), tensors_[k].data.size());
  }
  return out;
}

Status GgufBuilder::write(const std::string& path) const {
  const auto b = bytes();
  std::ofstream f(path, std::ios::binary | std::ios::trunc);
  if (!f) return make_error(ErrorCode::kIo, "cannot create " + path);
  f.write(reinterpret_cast<const char*>(b.data()), static_cast<std::streamsize>(b.size()));
  if (!f) return make_error(ErrorCode::kIo, "cannot write " + path);
  return ok_status();
}

std::vector<uint8_t> quantize_q8_0(const std::vector<float>& values) {
  std::vector<uint8_t> out;
  for (size_t b = 0; b + 32 <= values.size(); b += 32) {
    float amax = 0;
    for (size_t j = 0; j < 32; ++j) amax = std::max(amax, std::fabs(values[b + j]));
    const float d = amax / 127.0f;
    const float id = d != 0 ? 1.0f / d : 0.0f;
    append(out, f32_to_f16(d));
    for (size_t j = 0; j < 32; ++j) out.push_back(static_cast<uint8_t>(static_cast<int8_t>(std::lround(values[b + j] * id))));
  }
  return out;
}

Status add_tokenizer_metadata(GgufBuilder& b, const std::string& tokenizer_json, const std::string& tokenizer_config_json,
                              const std::string& pre, int64_t vocab_size) {
  using nlohmann::json;
  json tok = json::parse(tokenizer_json, nullptr, false);
  if (tok.is_discarded() || !tok.is_object() || !tok.contains("model")) {
    return make_error(ErrorCode::kCorruptData, "tokenizer.json is not a tokenizer");
  }
  std::map<int64_t, std::pair<std::string, int32_t>> by_id;  // text, token type
  for (const auto& [text, id] : tok["model"]["vocab"].items()) by_id[id.get<int64_t>()] = {text, 1};
  for (const auto& a : tok.value("added_tokens", json::array())) {
    by_id[a["id"].get<int64_t>()] = {a["content"].get<std::string>(), a.value("special", false) ? 3 : 4};
  }
  const int64_t n = std::max<int64_t>(vocab_size, by_id.empty() ? 0 : by_id.rbegin()->first + 1);
  std::vector<std::string> tokens;
  std::vector<int32_t> types;
  for (int64_t id = 0; id < n; ++id) {
    const auto it = by_id.find(id);
    if (it == by_id.end()) {  // the converter's filler for ids the tokenizer does not define
      tokens.push_back("[PAD" + std::to_string(id) + "]");
      types.push_back(5);
    } else {
      tokens.push_back(it->second.first);
      types.push_back(it->second.second);
    }
  }
  std::vector<std::string> merges;
  for (const auto& m : tok["model"]["merges"]) {
    merges.push_back(m.is_string() ? m.get<std::string>() : m[0].get<std::string>() + " " + m[1].get<std::string>());
  }
  b.add_string("tokenizer.ggml.model", "gpt2");
  b.add_string("tokenizer.ggml.pre", pre);
  b.add_strings("tokenizer.ggml.tokens", tokens);
  b.add_i32s("tokenizer.ggml.token_type", types);
  b.add_strings("tokenizer.ggml.merges", merges);
  if (!tokenizer_config_json.empty()) {
    json cfg = json::parse(tokenizer_config_json, nullptr, false);
    if (cfg.is_object()) {
      auto token_id = [&](const char* key) -> int64_t {
        if (!cfg.contains(key)) return -1;
        const json& v = cfg[key];
        const std::string s = v.is_string() ? v.get<std::string>() : v.is_object() ? v.value("content", "") : "";
        for (size_t i = 0; i < tokens.size(); ++i) {
          if (tokens[i] == s) return static_cast<int64_t>(i);
        }
        return -1;
      };
      if (const int64_t id = token_id("bos_token"); id >= 0) b.add_u32("tokenizer.ggml.bos_token_id", static_cast<uint32_t>(id));
      if (const int64_t id = token_id("eos_token"); id >= 0) b.add_u32("tokenizer.ggml.eos_token_id", static_cast<uint32_t>(id));
      if (cfg.contains("add_bos_token") && cfg["add_bos_token"].is_boolean()) {
        b.add_bool("tokenizer.ggml.add_bos_token", cfg["add_bos_token"].get<bool>());
      }
      if (cfg.contains("chat_template") && cfg["chat_template"].is_string()) {
        b.add_string("tokenizer.chat_template", cfg["chat_template"].get<std::string>());
      }
    }
  }
  return ok_status();
}

namespace {

struct Emitted {
  std::string name;
  std::vector<uint64_t> dims;  // GGUF order
  std::vector<float> values;
  bool keep_f32 = false;
};

std::vector<uint64_t> reversed(const std::vector<int64_t>& shape) {
  return std::vector<uint64_t>(shape.rbegin(), shape.rend());
}


// convert_hf_to_gguf.py's LlamaModel.permute: within each head, row half * hd/2 + i -> 2i + half.
std::vector<float> permute_rows(const std::vector<float>& w, int64_t heads, int64_t cols) {
  const int64_t hd = static_cast<int64_t>(w.size()) / cols / heads;
  std::vector<float> out(w.size());
  for (int64_t h = 0; h < heads; ++h) {
    for (int64_t half = 0; half < 2; ++half) {
      for (int64_t i = 0; i < hd / 2; ++i) {
        const float* from = w.data() + (h * hd + half * (hd / 2) + i) * cols;
        std::copy(from, from + cols, out.data() + (h * hd + 2 * i + half) * cols);
      }
    }
  }
  return out;
}

Status add_model_metadata(GgufBuilder& b, const ModelConfig& c, const GgufConvertOptions& o, const std::string& name) {
  const std::string a = c.is_deepseek() ? "deepseek2" : c.arch == Architecture::kQwen2 ? "qwen2" : "llama";
  auto u32 = [](int64_t v) { return static_cast<uint32_t>(v); };
  b.add_string("general.architecture", a);
  b.add_string("general.name", name);
  b.add_u32("general.alignment", b.alignment);
  // llama_ftype: 1 MOSTLY_F16, 7 MOSTLY_Q8_0, 15 MOSTLY_Q4_K_M, 18 MOSTLY_Q6_K (Q4_K alone: 14, Q4_K_S).
  const uint32_t ftype = o.weight_type == GgmlType::kF16    ? 1
                         : o.weight_type == GgmlType::kQ8_0 ? 7
                         : o.weight_type == GgmlType::kQ4_K ? (o.q4_k_m ? 15 : 14)
                         : o.weight_type == GgmlType::kQ6_K ? 18
                                                            : 0;
  b.add_u32("general.file_type", ftype);
  b.add_u32(a + ".context_length", u32(c.max_position_embeddings));
  b.add_u32(a + ".embedding_length", u32(c.hidden_size));
  b.add_u32(a + ".block_count", u32(c.num_hidden_layers + c.num_nextn_predict_layers));
  b.add_u32(a + ".feed_forward_length", u32(c.intermediate_size));
  b.add_u32(a + ".attention.head_count", u32(c.num_attention_heads));
  b.add_f32(a + ".attention.layer_norm_rms_epsilon", static_cast<float>(c.rms_norm_eps));
  b.add_f32(a + ".rope.freq_base", static_cast<float>(c.rope_theta));
  b.add_u32(a + ".vocab_size", u32(c.vocab_size));
  if (c.bos_token_id >= 0) b.add_u32("tokenizer.ggml.bos_token_id", u32(c.bos_token_id));
  if (c.eos_token_id >= 0) b.add_u32("tokenizer.ggml.eos_token_id", u32(c.eos_token_id));
  if (!c.is_deepseek()) {
    b.add_u32(a + ".attention.head_count_kv", u32(c.num_key_value_heads));
    b.add_u32(a + ".rope.dimension_count", u32(c.head_dim));
    b.add_u32(a + ".attention.key_length", u32(c.head_dim));
    b.add_u32(a + ".attention.value_length", u32(c.head_dim));
    return ok_status();
  }
  const MlaConfig& m = c.mla;
  const MoeConfig& e = c.moe;
  b.add_u32(a + ".rope.dimension_count", u32(m.qk_rope_head_dim));
  if (m.q_lora_rank > 0) b.add_u32(a + ".attention.q_lora_rank", u32(m.q_lora_rank));
  b.add_u32(a + ".attention.kv_lora_rank", u32(m.kv_lora_rank));
  if (o.split_kv_b) {  // newer converter: MLA described as MQA over the latent
    b.add_u32(a + ".attention.head_count_kv", 1);
    b.add_u32(a + ".attention.key_length", u32(m.kv_lora_rank + m.qk_rope_head_dim));
    b.add_u32(a + ".attention.value_length", u32(m.kv_lora_rank));
    b.add_u32(a + ".attention.key_length_mla", u32(m.qk_nope_head_dim + m.qk_rope_head_dim));
    b.add_u32(a + ".attention.value_length_mla", u32(m.v_head_dim));
  } else {
    b.add_u32(a + ".attention.head_count_kv", u32(c.num_attention_heads));
    b.add_u32(a + ".attention.key_length", u32(m.qk_nope_head_dim + m.qk_rope_head_dim));
    b.add_u32(a + ".attention.value_length", u32(m.v_head_dim));
  }
  b.add_u32(a + ".leading_dense_block_count", u32(e.first_k_dense_replace));
  if (e.n_routed_experts > 0) {
    b.add_u32(a + ".expert_count", u32(e.n_routed_experts));
    b.add_u32(a + ".expert_used_count", u32(e.num_experts_per_tok));
    b.add_u32(a + ".expert_feed_forward_length", u32(e.moe_intermediate_size));
  }
  b.add_u32(a + ".expert_shared_count", u32(e.n_shared_experts));
  b.add_f32(a + ".expert_weights_scale", static_cast<float>(e.routed_scaling_factor));
  if (e.norm_topk_prob) b.add_bool(a + ".expert_weights_norm", true);
  b.add_u32(a + ".expert_gating_func", e.scoring_func == ScoringFunc::kSigmoid ? 2 : 1);
  if (e.n_group > 1) {
    b.add_u32(a + ".expert_group_count", u32(e.n_group));
    b.add_u32(a + ".expert_group_used_count", u32(e.topk_group));
  }
  if (c.num_nextn_predict_layers > 0) b.add_u32(a + ".nextn_predict_layers", u32(c.num_nextn_predict_layers));
  const RopeScaling& s = c.rope_scaling;
  if (s.type == RopeScalingType::kYarn) {
    if (s.mscale != s.mscale_all_dim) {
      return make_error(ErrorCode::kUnsupported, "GGUF keeps only mscale_all_dim; this config has mscale != mscale_all_dim");
    }
    b.add_string(a + ".rope.scaling.type", "yarn");
    b.add_f32(a + ".rope.scaling.factor", static_cast<float>(s.factor));
    b.add_u32(a + ".rope.scaling.original_context_length", u32(s.original_max_position_embeddings));
    b.add_f32(a + ".rope.scaling.yarn_log_multiplier", static_cast<float>(0.1 * s.mscale_all_dim));
    if (s.beta_fast != 32.0) b.add_f32(a + ".rope.scaling.yarn_beta_fast", static_cast<float>(s.beta_fast));
    if (s.beta_slow != 1.0) b.add_f32(a + ".rope.scaling.yarn_beta_slow", static_cast<float>(s.beta_slow));
  }
  return ok_status();
}

// Whole blocks of `values` in a k-quant format, with base/ggml_blocks.h's encoders.
std::vector<uint8_t> quantize_blocks(const std::vector<float>& values, int block_values, int block_bytes,
                                     void (*encode_block)(const float*, uint8_t*)) {
  std::vector<uint8_t> out(values.size() / static_cast<size_t>(block_values) * static_cast<size_t>(block_bytes));
  for (size_t b = 0; b * block_values < values.size(); ++b) encode_block(values.data() + b * block_values, out.data() + b * block_bytes);
  return out;
}

std::vector<uint8_t> encode(const Emitted& t, GgmlType type, bool q4_k_m, GgmlType& used) {
  used = t.keep_f32 ? GgmlType::kF32 : type;
  if (used == GgmlType::kQ4_K && q4_k_m &&
      (t.name.find("ffn_down") != std::string::npos || t.name.find("attn_v.") != std::string::npos || t.name == "output.weight"))
    used = GgmlType::kQ6_K;
  // Rows must be whole blocks; llama.cpp's quantize falls back the same way.
  if ((used == GgmlType::kQ4_K || used == GgmlType::kQ6_K) && t.dims[0] % 256 != 0) used = GgmlType::kQ8_0;
  if (used == GgmlType::kQ8_0 && t.dims[0] % 32 != 0) used = GgmlType::kF16;
  std::vector<uint8_t> out;
  switch (used) {
    case GgmlType::kQ8_0: return quantize_q8_0(t.values);
    case GgmlType::kQ4_K: return quantize_blocks(t.values, ggml::kQ4KValues, ggml::kQ4KBytes, ggml::encode_q4_k);
    case GgmlType::kQ6_K: return quantize_blocks(t.values, ggml::kQ6KValues, ggml::kQ6KBytes, ggml::encode_q6_k);
    case GgmlType::kF16:
      for (float v : t.values) append(out, f32_to_f16(v));
      return out;
    case GgmlType::kBF16:
      for (float v : t.values) append(out, f32_to_bf16(v));
      return out;
    default:
      used = GgmlType::kF32;
      for (float v : t.values) append(out, v);
      return out;
  }
}

}  // namespace

Status convert_checkpoint_to_gguf(const std::string& dir, const std::string& out_path, const GgufConvertOptions& o) {
  R1VK_ASSIGN_OR_RETURN(ImportedModel model, import_model(dir));
  const ModelConfig& c = model.config;
  const Checkpoint& ck = model.checkpoint;
  std::vector<Emitted> emitted;
  auto read = [&ck](const std::string& name) { return ck.read_f32(name); };
  for (const ExpectedTensor& t : expected_tensors(c)) {
    if (t.role == TensorRole::kFp8Scale) continue;
    const bool one_d = t.shape.size() == 1;
    const bool keep_f32 = one_d || t.role == TensorRole::kRouter;
    if (t.name == "model.embed_tokens.weight" || t.name == "model.norm.weight" || t.name == "lm_head.weight") {
      const char* g = t.name == "lm_head.weight" ? "output.weight" : t.name == "model.norm.weight" ? "output_norm.weight" : "token_embd.weight";
      R1VK_ASSIGN_OR_RETURN(auto v, read(t.name));
      emitted.push_back({g, reversed(t.shape), std::move(v), keep_f32});
      continue;
    }
    const std::string blk = "blk." + std::to_string(t.layer) + ".";
    const std::string prefix = "model.layers." + std::to_string(t.layer) + ".";
    const std::string rest = t.name.substr(prefix.size());
    if (t.expert >= 0) {
      if (t.expert != 0 || rest.find("gate_proj") == std::string::npos) continue;  // stacked at expert 0
      for (const char* proj : {"gate", "up", "down"}) {
        Emitted stacked;
        stacked.name = blk + "ffn_" + proj + "_exps.weight";
        std::vector<int64_t> shape;
        for (int64_t x = 0; x < c.moe.n_routed_experts; ++x) {
          const std::string n = prefix + "mlp.experts." + std::to_string(x) + "." + proj + "_proj.weight";
          R1VK_ASSIGN_OR_RETURN(auto v, read(n));
          stacked.values.insert(stacked.values.end(), v.begin(), v.end());
          if (x == 0) {
            R1VK_ASSIGN_OR_RETURN(TensorRef ref, ck.tensor(n));
            shape = ref.info->shape;
          }
        }
        stacked.dims = reversed(shape);
        stacked.dims.push_back(static_cast<uint64_t>(c.moe.n_routed_experts));
        emitted.push_back(std::move(stacked));
      }
      continue;
    }
    const char* suffix = gguf_layer_tensor_name(rest);
    if (!suffix) return make_error(ErrorCode::kInternal, "no GGUF name for " + t.name);
    R1VK_ASSIGN_OR_RETURN(auto v, read(t.name));
    if (rest == "self_attn.kv_b_proj.weight" && o.split_kv_b) {
      const int64_t H = c.num_attention_heads, r = c.mla.kv_lora_rank, dn = c.mla.qk_nope_head_dim, dv = c.mla.v_head_dim;
      Emitted kb{blk + "attn_k_b.weight", {static_cast<uint64_t>(dn), static_cast<uint64_t>(r), static_cast<uint64_t>(H)}, {}, false};
      Emitted vb{blk + "attn_v_b.weight", {static_cast<uint64_t>(r), static_cast<uint64_t>(dv), static_cast<uint64_t>(H)}, {}, false};
      kb.values.resize(static_cast<size_t>(H * r * dn));
      for (int64_t h = 0; h < H; ++h) {
        const float* head = v.data() + h * (dn + dv) * r;
        for (int64_t j = 0; j < dn; ++j) {
          for (int64_t col = 0; col < r; ++col) kb.values[static_cast<size_t>((h * r + col) * dn + j)] = head[j * r + col];
        }
        vb.values.insert(vb.values.end(), head + dn * r, head + (dn + dv) * r);
      }
      emitted.push_back(std::move(kb));
      emitted.push_back(std::move(vb));
      continue;
    }
    if (c.arch == Architecture::kLlama && rest == "self_attn.q_proj.weight") v = permute_rows(v, c.num_attention_heads, c.hidden_size);
    if (c.arch == Architecture::kLlama && rest == "self_attn.k_proj.weight") v = permute_rows(v, c.num_key_value_heads, c.hidden_size);
    emitted.push_back({blk + suffix, reversed(t.shape), std::move(v), keep_f32});
  }
  if (c.rope_scaling.type == RopeScalingType::kLlama3) {  // LlamaModel.generate_extra_tensors
    RopeScaling none;
    const auto base = rope_math::frequencies(none, c.rope_theta, c.head_dim);
    const auto scaled = rope_math::frequencies(c.rope_scaling, c.rope_theta, c.head_dim);
    Emitted f{"rope_freqs.weight", {static_cast<uint64_t>(base.size())}, {}, true};
    for (size_t i = 0; i < base.size(); ++i) f.values.push_back(static_cast<float>(base[i] / scaled[i]));
    emitted.push_back(std::move(f));
  }

  const int64_t n = std::max<int64_t>(1, o.splits);
  std::vector<GgufBuilder> parts(static_cast<size_t>(n));
  R1VK_TRY(add_model_metadata(parts[0], c, o, fs::path(dir).filename().string()));
  const fs::path tok_path = fs::path(dir) / "tokenizer.json";
  if (fs::exists(tok_path)) {
    std::ifstream tf(tok_path, std::ios::binary);
    const std::string tok((std::istreambuf_iterator<char>(tf)), std::istreambuf_iterator<char>());
    const char* pre = c.arch == Architecture::kDeepseekV3   ? "deepseek-v3"
                      : c.arch == Architecture::kDeepseekV2 ? "deepseek-llm"
                      : c.arch == Architecture::kQwen2      ? "qwen2"
                                                            : "llama-bpe";
    R1VK_TRY(add_tokenizer_metadata(parts[0], tok, "", pre, c.vocab_size));
  }
  for (size_t k = 0; k < emitted.size(); ++k) {
    GgmlType used = GgmlType::kF32;
    auto data = encode(emitted[k], o.weight_type, o.q4_k_m, used);
    parts[k % static_cast<size_t>(n)].add_tensor(emitted[k].name, emitted[k].dims, used, std::move(data));
  }
  for (int64_t k = 0; k < n; ++k) {
    const std::string path = n == 1 ? out_path : gguf_split_path(out_path, k, n);
    if (path.empty()) return make_error(ErrorCode::kInvalidArgument, out_path + ": a split file must be named NAME-00001-of-NNNNN.gguf");
    if (n > 1) {
      parts[static_cast<size_t>(k)].add_u16("split.no", static_cast<uint16_t>(k));
      parts[static_cast<size_t>(k)].add_u16("split.count", static_cast<uint16_t>(n));
      parts[static_cast<size_t>(k)].add_i32("split.tensors.count", static_cast<int32_t>(emitted.size()));
    }
    R1VK_TRY(parts[static_cast<size_t>(k)].write(path));
  }
  return ok_status();
}

}  // namespace r1vk::gen
