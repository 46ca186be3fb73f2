// What the compiler must produce for each plan tensor: which checkpoint tensors it is made from,
// how they are combined, its final [rows, cols] shape, and its role (which decides how far it
// may be quantised).
#pragma once

#include <cstdint>
#include <string>
#include <vector>

namespace r1vk {

enum class WeightRole {
  kNorm,        // RMSNorm scales: stay f32
  kBias,        // additive biases (Qwen2 q/k/v): stay f32
  kRouter,      // MoE gate: f32, routing decisions are sensitive to it
  kRouterBias,  // e_score_correction_bias: f32
  kEmbedding,   // token embeddings: at least q8
  kLmHead,      // output head: at least q8
  kLinear,      // bulk projections: the requested format
};

enum class WeightTransform {
  kNone,        // one source, as stored: [rows, cols]
  kConcatRows,  // several sources stacked along rows (fused gate|up, q|k|v)
  kMlaKAbsorb,  // kv_b_proj [H*(dn+dv), c] -> per head W[h, :dn, :]^T: [H*c, dn]
  kMlaVAbsorb,  // kv_b_proj [H*(dn+dv), c] -> per head W[h, dn:, :]:   [H*dv, c]
};

struct WeightSpec {
  std::string name;                  // plan tensor name: "layers.3.attn.k_absorb"
  std::vector<std::string> sources;  // checkpoint tensor names
  std::vector<int64_t> source_rows;  // kConcatRows: rows taken from each source (cols are shared)
  WeightTransform transform = WeightTransform::kNone;
  WeightRole role = WeightRole::kLinear;
  int64_t rows = 0;
  int64_t cols = 0;
  // kMlaKAbsorb / kMlaVAbsorb: heads, nope and value dims of kv_b_proj.
  int64_t heads = 0;
  int64_t nope_dim = 0;
  int64_t value_dim = 0;
};

}  // namespace r1vk
