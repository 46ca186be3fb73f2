#include "plan/program.h"

namespace r1vk::plan {

const char* op_kind_name(OpKind kind) {
  switch (kind) {
    case OpKind::kEmbed: return "embed";
    case OpKind::kRmsNorm: return "rmsnorm";
    case OpKind::kLinear: return "linear";
    case OpKind::kLinearHeads: return "linear_heads";
    case OpKind::kRope: return "rope";
    case OpKind::kSwiGlu: return "swiglu";
    case OpKind::kMlaKvStore: return "mla_kv_store";
    case OpKind::kMlaAttention: return "mla_attention";
    case OpKind::kGqaKvStore: return "gqa_kv_store";
    case OpKind::kGqaAttention: return "gqa_attention";
    case OpKind::kMoeRoute: return "moe_route";
    case OpKind::kMoeExperts: return "moe_experts";
    case OpKind::kCount: break;
  }
  return "unknown";
}

Result<OpKind> parse_op_kind(const std::string& name) {
  for (int k = 0; k < static_cast<int>(OpKind::kCount); ++k) {
    if (name == op_kind_name(static_cast<OpKind>(k))) return static_cast<OpKind>(k);
  }
  return make_error(ErrorCode::kCorruptData, "unknown op kind '" + name + "'");
}

}  // namespace r1vk::plan
