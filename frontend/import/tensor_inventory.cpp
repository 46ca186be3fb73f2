#include "import/tensor_inventory.h"

#include <algorithm>
#include <set>

#include "import/dequantize.h"

namespace r1vk {
namespace {

const std::vector<DType> kFloatTypes{DType::kBF16, DType::kF16, DType::kF32};
// A matrix may be stored either way whatever the config says (re-uploads quantise or dequantise
// some tensors, DeepSeek's own MTP layer mixes both): FP8 is read through its block scales.
// The first dtype is the one the config implies (the generator writes it).
const std::vector<DType> kMatrixTypes{DType::kBF16, DType::kF16, DType::kF32, DType::kF8E4M3};
const std::vector<DType> kFp8MatrixTypes{DType::kF8E4M3, DType::kBF16, DType::kF16, DType::kF32};

class InventoryBuilder {
 public:
  explicit InventoryBuilder(const ModelConfig& c) : c_(c) {}

  void add(std::string name, std::vector<int64_t> shape, TensorRole role) {
    const bool matrix = shape.size() == 2;
    ExpectedTensor t{std::move(name), std::move(shape), matrix ? kMatrixTypes : kFloatTypes, role, layer_, expert_, mtp_};
    const bool quantised = c_.fp8.enabled && role == TensorRole::kLinear;
    if (!quantised) {
      out_.push_back(std::move(t));
      return;
    }
    t.dtypes = kFp8MatrixTypes;
    ExpectedTensor scale{t.name + kScaleSuffix,
                         {ceil_div(t.shape[0], c_.fp8.block_n), ceil_div(t.shape[1], c_.fp8.block_k)},
                         {DType::kF32}, TensorRole::kFp8Scale, layer_, expert_, mtp_};
    out_.push_back(std::move(t));
    out_.push_back(std::move(scale));
  }

  void mlp(const std::string& p, int64_t width) {
    add(p + "gate_proj.weight", {width, c_.hidden_size}, TensorRole::kLinear);
    add(p + "up_proj.weight", {width, c_.hidden_size}, TensorRole::kLinear);
    add(p + "down_proj.weight", {c_.hidden_size, width}, TensorRole::kLinear);
  }

  void mla(const std::string& p) {
    const MlaConfig& m = c_.mla;
    const int64_t h = c_.num_attention_heads;
    const int64_t q_dim = h * (m.qk_nope_head_dim + m.qk_rope_head_dim);
    if (m.q_lora_rank > 0) {
      add(p + "q_a_proj.weight", {m.q_lora_rank, c_.hidden_size}, TensorRole::kLinear);
      add(p + "q_a_layernorm.weight", {m.q_lora_rank}, TensorRole::kNorm);
      add(p + "q_b_proj.weight", {q_dim, m.q_lora_rank}, TensorRole::kLinear);
    } else {
      add(p + "q_proj.weight", {q_dim, c_.hidden_size}, TensorRole::kLinear);
    }
    add(p + "kv_a_proj_with_mqa.weight", {m.kv_lora_rank + m.qk_rope_head_dim, c_.hidden_size}, TensorRole::kLinear);
    add(p + "kv_a_layernorm.weight", {m.kv_lora_rank}, TensorRole::kNorm);
    add(p + "kv_b_proj.weight", {h * (m.qk_nope_head_dim + m.v_head_dim), m.kv_lora_rank}, TensorRole::kLinear);
    add(p + "o_proj.weight", {c_.hidden_size, h * m.v_head_dim}, TensorRole::kLinear);
  }

  void gqa(const std::string& p) {
    const int64_t q_dim = c_.num_attention_heads * c_.head_dim;
    const int64_t kv_dim = c_.num_key_value_heads * c_.head_dim;
    for (const auto& [proj, dim] : {std::pair{"q_proj", q_dim}, std::pair{"k_proj", kv_dim}, std::pair{"v_proj", kv_dim}}) {
      add(p + proj + ".weight", {dim, c_.hidden_size}, TensorRole::kLinear);
      if (c_.attention_qkv_bias) add(p + proj + ".bias", {dim}, TensorRole::kBias);
    }
    add(p + "o_proj.weight", {c_.hidden_size, q_dim}, TensorRole::kLinear);
  }

  void moe(const std::string& p) {
    const MoeConfig& e = c_.moe;
    add(p + "gate.weight", {e.n_routed_experts, c_.hidden_size}, TensorRole::kRouter);
    if (e.has_correction_bias) add(p + "gate.e_score_correction_bias", {e.n_routed_experts}, TensorRole::kCorrectionBias);
    for (int64_t x = 0; x < e.n_routed_experts; ++x) {
      expert_ = x;
      mlp(p + "experts." + std::to_string(x) + ".", e.moe_intermediate_size);
    }
    expert_ = -1;
    if (e.n_shared_experts > 0) mlp(p + "shared_experts.", e.n_shared_experts * e.moe_intermediate_size);
  }

  void layer(int64_t n, bool is_mtp) {
    layer_ = n;
    mtp_ = is_mtp;
    const std::string p = "model.layers." + std::to_string(n) + ".";
    if (is_mtp) {  // R1 layout: MTP extras first, then an ordinary decoder block
      if (!c_.mtp_shares_embedding) add(p + "embed_tokens.weight", {c_.vocab_size, c_.hidden_size}, TensorRole::kEmbedding);
      add(p + "enorm.weight", {c_.hidden_size}, TensorRole::kNorm);
      add(p + "hnorm.weight", {c_.hidden_size}, TensorRole::kNorm);
      add(p + "eh_proj.weight", {c_.hidden_size, 2 * c_.hidden_size}, TensorRole::kMtpProjection);
      add(p + "shared_head.norm.weight", {c_.hidden_size}, TensorRole::kNorm);
      if (!c_.mtp_shares_head) add(p + "shared_head.head.weight", {c_.vocab_size, c_.hidden_size}, TensorRole::kLmHead);
    }
    add(p + "input_layernorm.weight", {c_.hidden_size}, TensorRole::kNorm);
    add(p + "post_attention_layernorm.weight", {c_.hidden_size}, TensorRole::kNorm);
    if (c_.is_deepseek()) {
      mla(p + "self_attn.");
    } else {
      gqa(p + "self_attn.");
    }
    if (c_.is_moe_layer(n)) {
      moe(p + "mlp.");
    } else {
      mlp(p + "mlp.", c_.intermediate_size);
    }
  }

  std::vector<ExpectedTensor> build() {
    add("model.embed_tokens.weight", {c_.vocab_size, c_.hidden_size}, TensorRole::kEmbedding);
    add("model.norm.weight", {c_.hidden_size}, TensorRole::kNorm);
    if (!c_.tie_word_embeddings) add("lm_head.weight", {c_.vocab_size, c_.hidden_size}, TensorRole::kLmHead);
    for (int64_t n = 0; n < c_.num_hidden_layers; ++n) layer(n, false);
    for (int64_t i = 0; i < c_.num_nextn_predict_layers; ++i) layer(c_.num_hidden_layers + i, true);
    return std::move(out_);
  }

 private:
  const ModelConfig& c_;
  std::vector<ExpectedTensor> out_;
  int64_t layer_ = -1;
  int64_t expert_ = -1;
  bool mtp_ = false;
};

std::string describe(const ExpectedTensor& t) { return dtype_list(t.dtypes) + " " + shape_to_string(t.shape); }

}  // namespace

std::vector<ExpectedTensor> expected_tensors(const ModelConfig& config) { return InventoryBuilder(config).build(); }

std::string dtype_list(const std::vector<DType>& dtypes) {
  std::string s;
  for (DType d : dtypes) s += (s.empty() ? "" : "|") + std::string(dtype_name(d));
  return s;
}

Status validate_checkpoint(const Checkpoint& checkpoint, const ModelConfig& config, const std::set<std::string>& ignored) {
  const std::vector<ExpectedTensor> expected = expected_tensors(config);
  std::vector<std::string> problems;
  std::set<std::string> expected_names;
  for (const ExpectedTensor& t : expected) {
    if (t.role == TensorRole::kFp8Scale) continue;  // expected exactly when its weight is stored as FP8 (below)
    expected_names.insert(t.name);
    auto ref = checkpoint.tensor(t.name);
    if (!ref.ok()) {
      problems.push_back("missing tensor '" + t.name + "' (expected " + describe(t) + ")");
      continue;
    }
    const TensorInfo& info = *ref->info;
    if (info.shape != t.shape) {
      problems.push_back("tensor '" + t.name + "' has shape " + shape_to_string(info.shape) + ", expected " +
                         shape_to_string(t.shape));
      continue;
    }
    if (std::find(t.dtypes.begin(), t.dtypes.end(), info.dtype) == t.dtypes.end()) {
      problems.push_back("tensor '" + t.name + "' has dtype " + dtype_name(info.dtype) + ", expected " +
                         dtype_list(t.dtypes));
      continue;
    }
    if (info.dtype != DType::kF8E4M3) continue;
    const std::string scale_name = t.name + kScaleSuffix;
    const std::vector<int64_t> scale_shape{ceil_div(t.shape[0], config.fp8.block_n), ceil_div(t.shape[1], config.fp8.block_k)};
    expected_names.insert(scale_name);
    auto scale = checkpoint.tensor(scale_name);
    if (!scale.ok()) {
      problems.push_back("missing tensor '" + scale_name + "' (expected F32 " + shape_to_string(scale_shape) +
                         "), the block scales of FP8 tensor '" + t.name + "'");
    } else if (scale->info->dtype != DType::kF32 || scale->info->shape != scale_shape) {
      problems.push_back("tensor '" + scale_name + "' is " + dtype_name(scale->info->dtype) + " " +
                         shape_to_string(scale->info->shape) + ", expected F32 " + shape_to_string(scale_shape));
    }
  }
  for (const std::string& name : checkpoint.tensor_names()) {
    if (expected_names.count(name) != 0 || ignored.count(name) != 0) continue;
    const bool scale = name.size() > std::string(kScaleSuffix).size() &&
                       name.compare(name.size() - std::string(kScaleSuffix).size(), std::string::npos, kScaleSuffix) == 0;
    const std::string scaled = scale ? name.substr(0, name.size() - std::string(kScaleSuffix).size()) : std::string();
    if (scale && expected_names.count(scaled) != 0) {
      problems.push_back("unexpected tensor '" + name + "' (block scales for '" + scaled + "', which is not stored as F8_E4M3)");
    } else {
      problems.push_back("unexpected tensor '" + name + "' (not in a " + architecture_name(config.arch) +
                         " checkpoint with this config)");
    }
  }
  if (problems.empty()) return ok_status();
  std::string message = checkpoint.dir() + ": " + problems.front();
  if (problems.size() > 1) message += " (and " + std::to_string(problems.size() - 1) + " more problems)";
  return make_error(ErrorCode::kCorruptData, message);
}

}  // namespace r1vk
