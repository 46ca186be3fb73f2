#include "import/gguf_weights.h"

#include <charconv>
#include <set>

#include "import/gguf_dequantize.h"
#include "import/gguf_tensor_names.h"
#include "import/tensor_inventory.h"

namespace r1vk {
namespace {


bool starts_with(const std::string& s, const std::string& p) { return s.compare(0, p.size(), p) == 0; }

// "model.layers.12.rest" -> (12, "rest")
bool split_layer(const std::string& name, int64_t& layer, std::string& rest) {
  const std::string prefix = "model.layers.";
  if (!starts_with(name, prefix)) return false;
  const size_t dot = name.find('.', prefix.size());
  if (dot == std::string::npos) return false;
  const char* b = name.data() + prefix.size();
  const char* e = name.data() + dot;
  if (std::from_chars(b, e, layer).ptr != e) return false;
  rest = name.substr(dot + 1);
  return true;
}

}  // namespace

GgufWeights::Source GgufWeights::plain(std::string name) {
  Source s;
  s.name = std::move(name);
  return s;
}

namespace {

Error not_mapped(const std::string& hf_name) {
  return make_error(ErrorCode::kNotFound, "no GGUF tensor corresponds to '" + hf_name + "'");
}

}  // namespace

Result<GgufWeights::Source> GgufWeights::source(const std::string& hf) const {
  if (hf == "model.embed_tokens.weight") return plain("token_embd.weight");
  if (hf == "model.norm.weight") return plain("output_norm.weight");
  if (hf == "lm_head.weight") return plain("output.weight");
  int64_t layer = 0;
  std::string rest;
  if (!split_layer(hf, layer, rest)) return not_mapped(hf);
  const std::string blk = "blk." + std::to_string(layer) + ".";
  const Architecture arch = info_.config.arch;
  // Routed experts: model.layers.N.mlp.experts.E.{gate,up,down}_proj.weight -> slice E.
  if (starts_with(rest, "mlp.experts.")) {
    const size_t dot = rest.find('.', 12);
    if (dot == std::string::npos) return not_mapped(hf);
    int64_t expert = 0;
    const char* b = rest.data() + 12;
    const char* e = rest.data() + dot;
    if (std::from_chars(b, e, expert).ptr != e) return not_mapped(hf);
    const std::string proj = rest.substr(dot + 1);
    const char* g = proj == "gate_proj.weight" ? "ffn_gate_exps.weight"
                    : proj == "up_proj.weight" ? "ffn_up_exps.weight"
                    : proj == "down_proj.weight" ? "ffn_down_exps.weight"
                                                 : nullptr;
    if (!g) return not_mapped(hf);
    return Source{blk + g, "", Transform::kExpertSlice, expert};
  }
  if (rest == "self_attn.kv_b_proj.weight" && info_.mla_layout == GgufMlaLayout::kSplitKvB) {
    return Source{blk + "attn_k_b.weight", blk + "attn_v_b.weight", Transform::kMergeKvB};
  }
  if (const char* gguf = gguf_layer_tensor_name(rest)) {
    Source s = plain(blk + gguf);
    // convert_hf_to_gguf.py permutes Llama's q/k rows so that ggml's adjacent-pair RoPE applies;
    // Qwen2 (NEOX RoPE in ggml) and DeepSeek (already adjacent pairs) are stored unpermuted.
    if (arch == Architecture::kLlama && rest == "self_attn.q_proj.weight") s.transform = Transform::kUnpermuteQ;
    if (arch == Architecture::kLlama && rest == "self_attn.k_proj.weight") s.transform = Transform::kUnpermuteK;
    return s;
  }
  return not_mapped(hf);
}

Result<std::string> GgufWeights::gguf_name(const std::string& hf_name) const {
  R1VK_ASSIGN_OR_RETURN(Source s, source(hf_name));
  return s.name;
}

Result<GgmlType> GgufWeights::gguf_type(const std::string& hf_name) const {
  R1VK_ASSIGN_OR_RETURN(Source s, source(hf_name));
  const GgufTensorInfo* t = files_.find(s.name);
  if (!t) return make_error(ErrorCode::kNotFound, files_.path() + ": no tensor '" + s.name + "'");
  return t->type;
}

Result<std::vector<float>> GgufWeights::read_whole(const std::string& name) const {
  R1VK_ASSIGN_OR_RETURN(GgufTensorRef ref, files_.tensor(name));
  std::vector<float> out;
  try {
    out.resize(static_cast<size_t>(ref.info->elements));
  } catch (const std::exception&) {
    return make_error(ErrorCode::kOutOfMemory, "tensor '" + name + "': cannot allocate " + std::to_string(ref.info->elements) + " floats");
  }
  auto s = dequantize_ggml(ref.info->type, ref.bytes, out);
  if (!s.ok()) return std::move(s).error().with_context("tensor '" + name + "' in " + *ref.path);
  return out;
}

Result<std::vector<float>> GgufWeights::read(const std::string& hf_name) const {
  R1VK_ASSIGN_OR_RETURN(Source src, source(hf_name));
  const ModelConfig& c = info_.config;
  switch (src.transform) {
    case Transform::kNone: return read_whole(src.name);
    case Transform::kExpertSlice: {
      R1VK_ASSIGN_OR_RETURN(GgufTensorRef ref, files_.tensor(src.name));
      const auto& dims = ref.info->dims;
      if (dims.size() != 3 || src.expert < 0 || static_cast<uint64_t>(src.expert) >= dims[2]) {
        return make_error(ErrorCode::kCorruptData, "tensor '" + src.name + "' has dims " + gguf_dims_to_string(dims) +
                                                       ", which do not hold expert " + std::to_string(src.expert));
      }
      // Rows are whole blocks (checked on open), so one expert is a contiguous byte range.
      const uint64_t per_expert = ref.info->bytes / dims[2];
      std::vector<float> out(static_cast<size_t>(dims[0] * dims[1]));
      auto s = dequantize_ggml(ref.info->type, ref.bytes.subspan(static_cast<size_t>(per_expert * static_cast<uint64_t>(src.expert)),
                                                                  static_cast<size_t>(per_expert)),
                               out);
      if (!s.ok()) return std::move(s).error().with_context("tensor '" + src.name + "'");
      return out;
    }
    case Transform::kUnpermuteQ:
    case Transform::kUnpermuteK: {
      R1VK_ASSIGN_OR_RETURN(std::vector<float> g, read_whole(src.name));
      const int64_t heads = src.transform == Transform::kUnpermuteQ ? c.num_attention_heads : c.num_key_value_heads;
      const int64_t hd = c.head_dim;
      const int64_t cols = c.hidden_size;
      if (static_cast<int64_t>(g.size()) != heads * hd * cols) {
        return make_error(ErrorCode::kCorruptData, "tensor '" + src.name + "' has " + std::to_string(g.size()) +
                                                       " elements, expected " + std::to_string(heads * hd * cols));
      }
      // The converter's permute: within each head, row half * hd/2 + i moved to row 2i + half.
      std::vector<float> out(g.size());
      for (int64_t h = 0; h < heads; ++h) {
        for (int64_t i = 0; i < hd / 2; ++i) {
          for (int64_t half = 0; half < 2; ++half) {
            const float* from = g.data() + (h * hd + 2 * i + half) * cols;
            std::copy(from, from + cols, out.data() + (h * hd + half * (hd / 2) + i) * cols);
          }
        }
      }
      return out;
    }
    case Transform::kMergeKvB: {
      // attn_k_b is [H, kv_lora, nope] and attn_v_b [H, v, kv_lora] (outermost first); kv_b_proj
      // is [H * (nope + v), kv_lora] with each head's nope rows followed by its v rows.
      R1VK_ASSIGN_OR_RETURN(std::vector<float> kb, read_whole(src.name));
      R1VK_ASSIGN_OR_RETURN(std::vector<float> vb, read_whole(src.name2));
      const int64_t H = c.num_attention_heads;
      const int64_t r = c.mla.kv_lora_rank;
      const int64_t dn = c.mla.qk_nope_head_dim;
      const int64_t dv = c.mla.v_head_dim;
      const std::vector<uint64_t> kdims{static_cast<uint64_t>(dn), static_cast<uint64_t>(r), static_cast<uint64_t>(H)};
      const std::vector<uint64_t> vdims{static_cast<uint64_t>(r), static_cast<uint64_t>(dv), static_cast<uint64_t>(H)};
      if (files_.find(src.name)->dims != kdims || files_.find(src.name2)->dims != vdims) {
        return make_error(ErrorCode::kCorruptData, "tensors '" + src.name + "' " + gguf_dims_to_string(files_.find(src.name)->dims) +
                                                       " and '" + src.name2 + "' " +
                                                       gguf_dims_to_string(files_.find(src.name2)->dims) + " should be " +
                                                       gguf_dims_to_string(kdims) + " and " + gguf_dims_to_string(vdims));
      }
      std::vector<float> out(static_cast<size_t>(H * (dn + dv) * r));
      for (int64_t h = 0; h < H; ++h) {
        float* head = out.data() + h * (dn + dv) * r;
        for (int64_t j = 0; j < dn; ++j) {
          for (int64_t col = 0; col < r; ++col) head[j * r + col] = kb[static_cast<size_t>((h * r + col) * dn + j)];
        }
        std::copy(vb.begin() + h * dv * r, vb.begin() + (h + 1) * dv * r, head + dn * r);
      }
      return out;
    }
  }
  return not_mapped(hf_name);
}

Result<std::optional<GgufWeights::Blocks>> GgufWeights::read_blocks(const std::string& hf_name) const {
  R1VK_ASSIGN_OR_RETURN(Source src, source(hf_name));
  if (src.transform == Transform::kMergeKvB) return std::optional<Blocks>();
  R1VK_ASSIGN_OR_RETURN(GgufTensorRef ref, files_.tensor(src.name));
  Blocks out;
  out.type = ref.info->type;
  std::span<const uint8_t> bytes = ref.bytes;
  if (src.transform == Transform::kExpertSlice) {
    const auto& dims = ref.info->dims;
    if (dims.size() != 3 || src.expert < 0 || static_cast<uint64_t>(src.expert) >= dims[2]) {
      return make_error(ErrorCode::kCorruptData, "tensor '" + src.name + "' has dims " + gguf_dims_to_string(dims) +
                                                     ", which do not hold expert " + std::to_string(src.expert));
    }
    const uint64_t per_expert = ref.info->bytes / dims[2];
    bytes = bytes.subspan(static_cast<size_t>(per_expert * static_cast<uint64_t>(src.expert)), static_cast<size_t>(per_expert));
  }
  if (src.transform != Transform::kUnpermuteQ && src.transform != Transform::kUnpermuteK) {
    out.bytes.assign(bytes.begin(), bytes.end());
    return std::optional<Blocks>(std::move(out));
  }
  // The same row permutation as read(), on whole stored rows.
  const ModelConfig& c = info_.config;
  const int64_t heads = src.transform == Transform::kUnpermuteQ ? c.num_attention_heads : c.num_key_value_heads;
  const int64_t hd = c.head_dim;
  const uint64_t rows = static_cast<uint64_t>(heads * hd);
  if (rows == 0 || hd % 2 != 0 || bytes.size() % rows != 0 || ref.info->dims.size() != 2 || ref.info->dims[1] != rows) {
    return make_error(ErrorCode::kCorruptData, "tensor '" + src.name + "' has dims " + gguf_dims_to_string(ref.info->dims) +
                                                   ", expected " + std::to_string(rows) + " rows");
  }
  const size_t row_bytes = bytes.size() / rows;
  out.bytes.resize(bytes.size());
  for (int64_t h = 0; h < heads; ++h) {
    for (int64_t i = 0; i < hd / 2; ++i) {
      for (int64_t half = 0; half < 2; ++half) {
        const uint8_t* from = bytes.data() + static_cast<size_t>(h * hd + 2 * i + half) * row_bytes;
        std::copy(from, from + row_bytes, out.bytes.data() + static_cast<size_t>(h * hd + half * (hd / 2) + i) * row_bytes);
      }
    }
  }
  return std::optional<Blocks>(std::move(out));
}

Status GgufWeights::validate() const {
  std::set<std::string> used;
  for (const ExpectedTensor& t : expected_tensors(info_.config)) {
    if (t.role == TensorRole::kFp8Scale) continue;
    auto src = source(t.name);
    if (!src.ok()) return make_error(ErrorCode::kInternal, files_.path() + ": " + src.error().message());
    int64_t numel = 1;
    for (int64_t d : t.shape) numel *= d;
    const GgufTensorInfo* info = files_.find(src->name);
    if (!info) {
      return make_error(ErrorCode::kCorruptData, files_.path() + ": missing tensor '" + src->name + "' (for " + t.name + ")");
    }
    used.insert(src->name);
    uint64_t have = info->elements;
    if (src->transform == Transform::kExpertSlice) {
      const int64_t experts = info_.config.moe.n_routed_experts;
      if (info->dims.size() != 3 || info->dims[2] != static_cast<uint64_t>(experts)) {
        return make_error(ErrorCode::kCorruptData, files_.path() + ": tensor '" + src->name + "' has dims " +
                                                       gguf_dims_to_string(info->dims) + ", expected " +
                                                       std::to_string(experts) + " experts in the last");
      }
      have /= info->dims[2];
    }
    if (src->transform == Transform::kMergeKvB) {
      const GgufTensorInfo* v = files_.find(src->name2);
      if (!v) return make_error(ErrorCode::kCorruptData, files_.path() + ": missing tensor '" + src->name2 + "'");
      used.insert(src->name2);
      have += v->elements;
    }
    // Plain tensors must match the Hugging Face shape exactly (dims reversed).
    if (src->transform == Transform::kNone || src->transform == Transform::kUnpermuteQ ||
        src->transform == Transform::kUnpermuteK) {
      if (info->shape() != t.shape) {
        return make_error(ErrorCode::kCorruptData, files_.path() + ": tensor '" + src->name + "' has dims " +
                                                       gguf_dims_to_string(info->dims) + ", expected " +
                                                       shape_to_string(t.shape) + " reversed (for " + t.name + ")");
      }
    }
    if (have != static_cast<uint64_t>(numel)) {
      return make_error(ErrorCode::kCorruptData, files_.path() + ": tensor '" + src->name + "' holds " + std::to_string(have) +
                                                     " values for " + t.name + ", expected " + std::to_string(numel));
    }
  }
  used.insert("rope_freqs.weight");  // read by gguf_model_config
  for (const std::string& name : files_.tensor_names()) {
    if (used.count(name)) continue;
    // Newer DeepSeek files may carry attn_kv_b beside its split halves (or the reverse).
    if (name.find(".attn_k_b.weight") != std::string::npos || name.find(".attn_v_b.weight") != std::string::npos ||
        name.find(".attn_kv_b.weight") != std::string::npos) {
      continue;
    }
    return make_error(ErrorCode::kUnsupported, files_.path() + ": unexpected tensor '" + name + "' (not in a " +
                                                   architecture_name(info_.config.arch) + " model with this metadata)");
  }
  return ok_status();
}

}  // namespace r1vk
