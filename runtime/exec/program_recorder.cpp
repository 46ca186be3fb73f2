#include "exec/program_recorder.h"

#include <algorithm>

#include "exec/norm_fusion.h"
#include "exec/op_attrs.h"

namespace r1vk::exec {

using plan::Op;
using plan::OpKind;

namespace {

const plan::Program& program_of(const Model& m, ProgramId id) {
  return id == ProgramId::kMain ? m.manifest().main : m.manifest().mtp;
}

uint32_t u32(int64_t v) { return static_cast<uint32_t>(v); }

Result<kernels::CacheView> cache_view(const Model& m, const ProgramBuffers& b, const Op& op) {
  R1VK_ASSIGN_OR_RETURN(int64_t layer, attr_int(op, "layer"));
  if (layer < 0 || layer >= static_cast<int64_t>(b.kv_layers.size())) {
    return make_error(ErrorCode::kCorruptData, "op " + op.label + ": cache layer " + std::to_string(layer) + " out of range");
  }
  return kernels::CacheView{b.kv_layers[static_cast<size_t>(layer)], u32(m.manifest().memory.kv_width),
                            u32(m.context_length()), b.block_tokens, b.pool_rows};
}

Status need_refs(const Op& op, size_t inputs, size_t outputs, size_t weights) {
  if (op.inputs.size() < inputs || op.outputs.size() < outputs || op.weights.size() < weights) {
    return make_error(ErrorCode::kCorruptData, "op " + op.label + " lacks inputs, outputs or tensors");
  }
  return ok_status();
}

Status record_op(Model& m, ProgramId id, size_t index, const Op& op, const ProgramBuffers& b, const kernels::StepView& step,
                 const NormFusion& fusion, const std::optional<EmbedNormFusion>& embed_norm, vk::CommandBuffer& cmd) {
  const plan::Program& p = program_of(m, id);
  auto view = [&](const plan::ActRef& r) {
    if (r.value == b.external_value) {
      const plan::Value& v = p.values[static_cast<size_t>(r.value)];
      return kernels::ActView{b.external_base + static_cast<uint64_t>(r.col) * 4, u32(v.width), u32(r.cols)};
    }
    return act_view(p, r, b.arena);
  };
  auto in = [&](size_t i) { return view(op.inputs[i]); };
  auto out = [&](size_t i) { return view(op.outputs[i]); };
  auto weight = [&](size_t i) -> const kernels::WeightView& { return m.weights().view(static_cast<size_t>(op.weights[i])); };
  switch (op.kind) {
    case OpKind::kEmbed:
      R1VK_TRY(need_refs(op, 1, 1, 1));
      if (embed_norm && embed_norm->embed == index) {
        // The RMSNorm(s) after it in the same dispatch (norm_fusion.h, plan_embed_norm_fusion).
        const Op& norm = p.ops[embed_norm->norm];
        R1VK_ASSIGN_OR_RETURN(double eps, attr_real(norm, "eps"));
        const kernels::InputNorm first{m.weights().view(static_cast<size_t>(norm.weights[0])).data, static_cast<float>(eps)};
        kernels::SecondNorm second;
        if (embed_norm->second) {
          const Op& n2 = p.ops[*embed_norm->second];
          R1VK_ASSIGN_OR_RETURN(double eps2, attr_real(n2, "eps"));
          second = {view(n2.inputs[0]), view(n2.outputs[0]), m.weights().view(static_cast<size_t>(n2.weights[0])).data,
                    static_cast<float>(eps2)};
        }
        return m.linear().record_embed_norm(cmd, weight(0), in(0), view(norm.outputs[0]),
                                            attr_int_or(op, "zero_at_position0", 0) != 0, first, second, step);
      }
      return m.linear().record_embed(cmd, weight(0), in(0), out(0), attr_int_or(op, "zero_at_position0", 0) != 0, step);
    case OpKind::kRmsNorm: {
      R1VK_TRY(need_refs(op, 1, 1, 1));
      R1VK_ASSIGN_OR_RETURN(double eps, attr_real(op, "eps"));
      return m.attention().record_rmsnorm(cmd, in(0), weight(0).data, static_cast<float>(eps), out(0), step);
    }
    case OpKind::kLinear: {
      R1VK_TRY(need_refs(op, 1, 1, 1));
      R1VK_ASSIGN_OR_RETURN(int64_t acc, attr_int(op, "accumulate"));
      const VkDeviceAddress bias = op.weights.size() > 1 ? weight(1).data : 0;
      if (b.head_rows != 0 && b.head_op == index) {
        const kernels::ActView x = in(0);
        const kernels::ActView rows{b.head_rows, x.cols, x.cols};
        R1VK_TRY(m.attention().record_gather_sampled(cmd, x, rows, step, b.head_step.max_tokens));
        cmd.compute_barrier();
        return m.linear().record_linear(cmd, weight(0), bias, rows, out(0), false, b.head_step);
      }
      if (const int64_t n = fusion.norm_of[index]; n >= 0) {
        // The RMSNorm this linear folds in (norm_fusion.h): read its input, apply its weight.
        const Op& norm = p.ops[static_cast<size_t>(n)];
        R1VK_ASSIGN_OR_RETURN(double eps, attr_real(norm, "eps"));
        const kernels::InputNorm in_norm{m.weights().view(static_cast<size_t>(norm.weights[0])).data,
                                                        static_cast<float>(eps)};
        return m.linear().record_linear(cmd, weight(0), bias, view(norm.inputs[0]), out(0), acc != 0, step, in_norm);
      }
      if (const int64_t g = fusion.swiglu_of[index]; g >= 0) {
        // The SwiGLU this linear folds in: read its [gate | up] input.
        return m.linear().record_linear_swiglu(cmd, weight(0), bias, view(p.ops[static_cast<size_t>(g)].inputs[0]), out(0),
                                               acc != 0, step);
      }
      return m.linear().record_linear(cmd, weight(0), bias, in(0), out(0), acc != 0, step);
    }
    case OpKind::kLinearHeads: {
      R1VK_TRY(need_refs(op, 1, 1, 1));
      R1VK_ASSIGN_OR_RETURN(int64_t heads, attr_int(op, "heads"));
      R1VK_ASSIGN_OR_RETURN(int64_t stride, attr_int(op, "in_head_stride"));
      R1VK_ASSIGN_OR_RETURN(int64_t offset, attr_int(op, "in_offset"));
      return m.linear().record_linear_heads(cmd, weight(0), u32(heads), in(0), u32(stride), u32(offset), out(0), step);
    }
    case OpKind::kRope: {
      R1VK_TRY(need_refs(op, 1, 0, 0));
      R1VK_ASSIGN_OR_RETURN(int64_t heads, attr_int(op, "heads"));
      R1VK_ASSIGN_OR_RETURN(int64_t stride, attr_int(op, "head_stride"));
      R1VK_ASSIGN_OR_RETURN(int64_t offset, attr_int(op, "offset"));
      R1VK_ASSIGN_OR_RETURN(int64_t dim, attr_int(op, "dim"));
      R1VK_ASSIGN_OR_RETURN(int64_t inter, attr_int(op, "interleaved"));
      if (dim / 2 != static_cast<int64_t>(m.rope().pairs)) {
        return make_error(ErrorCode::kCorruptData, "op " + op.label + ": rotary dim does not match the plan's frequencies");
      }
      return m.attention().record_rope(cmd, in(0), u32(heads), u32(stride), u32(offset), u32(dim), inter != 0, m.rope(), step);
    }
    case OpKind::kSwiGlu:
      R1VK_TRY(need_refs(op, 1, 1, 0));
      return m.attention().record_swiglu(cmd, in(0), out(0), step);
    case OpKind::kMlaKvStore: {
      R1VK_TRY(need_refs(op, 1, 0, 1));
      R1VK_ASSIGN_OR_RETURN(auto cache, cache_view(m, b, op));
      R1VK_ASSIGN_OR_RETURN(double eps, attr_real(op, "eps"));
      R1VK_ASSIGN_OR_RETURN(int64_t c, attr_int(op, "kv_lora_rank"));
      R1VK_ASSIGN_OR_RETURN(int64_t dr, attr_int(op, "rope_dim"));
      return m.attention().record_mla_kv_store(cmd, in(0), weight(0).data, static_cast<float>(eps), u32(c), u32(dr), m.rope(),
                                               cache, step);
    }
    case OpKind::kMlaAttention: {
      R1VK_TRY(need_refs(op, 2, 1, 0));
      kernels::MlaAttentionArgs a;
      a.q_latent = in(0);
      a.q = in(1);
      R1VK_ASSIGN_OR_RETURN(int64_t heads, attr_int(op, "heads"));
      R1VK_ASSIGN_OR_RETURN(int64_t c, attr_int(op, "kv_lora_rank"));
      R1VK_ASSIGN_OR_RETURN(int64_t dr, attr_int(op, "rope_dim"));
      R1VK_ASSIGN_OR_RETURN(int64_t qs, attr_int(op, "q_head_stride"));
      R1VK_ASSIGN_OR_RETURN(int64_t qo, attr_int(op, "q_rope_offset"));
      R1VK_ASSIGN_OR_RETURN(double scale, attr_real(op, "scale"));
      a.heads = u32(heads);
      a.kv_lora_rank = u32(c);
      a.rope_dim = u32(dr);
      a.q_head_stride = u32(qs);
      a.q_rope_offset = u32(qo);
      a.scale = static_cast<float>(scale);
      R1VK_ASSIGN_OR_RETURN(a.cache, cache_view(m, b, op));
      a.out = out(0);
      a.scratch = b.scratch;
      return m.attention().record_mla_attention(cmd, a, step);
    }
    case OpKind::kGqaKvStore: {
      R1VK_TRY(need_refs(op, 1, 0, 0));
      R1VK_ASSIGN_OR_RETURN(auto cache, cache_view(m, b, op));
      return m.attention().record_gqa_kv_store(cmd, in(0), cache, step);
    }
    case OpKind::kGqaAttention: {
      R1VK_TRY(need_refs(op, 1, 1, 0));
      kernels::GqaAttentionArgs a;
      a.q = in(0);
      R1VK_ASSIGN_OR_RETURN(int64_t heads, attr_int(op, "heads"));
      R1VK_ASSIGN_OR_RETURN(int64_t kv, attr_int(op, "kv_heads"));
      R1VK_ASSIGN_OR_RETURN(int64_t d, attr_int(op, "head_dim"));
      R1VK_ASSIGN_OR_RETURN(double scale, attr_real(op, "scale"));
      a.heads = u32(heads);
      a.kv_heads = u32(kv);
      a.head_dim = u32(d);
      a.scale = static_cast<float>(scale);
      R1VK_ASSIGN_OR_RETURN(a.cache, cache_view(m, b, op));
      a.out = out(0);
      a.scratch = b.scratch;
      return m.attention().record_gqa_attention(cmd, a, step);
    }
    case OpKind::kMoeRoute: {
      R1VK_TRY(need_refs(op, 1, 2, 0));
      kernels::RouteArgs a;
      a.logits = in(0);
      a.bias = op.weights.empty() ? 0 : weight(0).data;
      R1VK_ASSIGN_OR_RETURN(int64_t experts, attr_int(op, "experts"));
      R1VK_ASSIGN_OR_RETURN(int64_t top_k, attr_int(op, "top_k"));
      R1VK_ASSIGN_OR_RETURN(int64_t n_group, attr_int(op, "n_group"));
      R1VK_ASSIGN_OR_RETURN(int64_t topk_group, attr_int(op, "topk_group"));
      R1VK_ASSIGN_OR_RETURN(int64_t sigmoid, attr_int(op, "sigmoid"));
      R1VK_ASSIGN_OR_RETURN(int64_t group_score, attr_int(op, "group_score"));
      R1VK_ASSIGN_OR_RETURN(int64_t normalize, attr_int(op, "normalize"));
      R1VK_ASSIGN_OR_RETURN(double scaling, attr_real(op, "scaling"));
      a.experts = u32(experts);
      a.top_k = u32(top_k);
      a.n_group = u32(n_group);
      a.topk_group = u32(topk_group);
      a.sigmoid = sigmoid != 0;
      a.group_score = u32(group_score);
      a.normalize = normalize != 0;
      a.scaling = static_cast<float>(scaling);
      a.ids = out(0);
      a.weights = out(1);
      a.counters = m.expert_counters(static_cast<int>(id), index);
      return m.attention().record_moe_route(cmd, a, step);
    }
    case OpKind::kMoeExperts: {
      R1VK_TRY(need_refs(op, 3, 1, 2));
      kernels::MoeExpertsArgs a;
      a.expert_table = m.expert_table(static_cast<int>(id), index);
      if (a.expert_table == 0) return make_error(ErrorCode::kInternal, "op " + op.label + " has no expert table");
      R1VK_ASSIGN_OR_RETURN(int64_t experts, attr_int(op, "experts"));
      R1VK_ASSIGN_OR_RETURN(int64_t top_k, attr_int(op, "top_k"));
      R1VK_ASSIGN_OR_RETURN(int64_t width, attr_int(op, "width"));
      a.format = weight(0).format;
      a.group = weight(0).group;
      a.down_format = weight(static_cast<size_t>(experts)).format;  // the first down matrix (op.weights: gate_up..., down...)
      a.down_group = weight(static_cast<size_t>(experts)).group;
      a.experts = u32(experts);
      a.top_k = u32(top_k);
      a.width = u32(width);
      a.in = in(0);
      a.hidden = a.in.cols;
      a.ids = in(1);
      a.weights = in(2);
      a.out = out(0);
      a.scratch = b.scratch;
      a.scratch_size = b.scratch_size;
      // With in-step expert copies: chosen host experts into free cache slots first.
      R1VK_TRY(m.record_expert_fill(cmd, static_cast<int>(id), index, a.ids, step));
      return m.linear().record_moe_experts(cmd, a, step);
    }
    case OpKind::kCount:
      break;
  }
  return make_error(ErrorCode::kCorruptData, "op " + op.label + " has an unknown kind");
}

}  // namespace

kernels::ActView act_view(const plan::Program& p, const plan::ActRef& r, VkDeviceAddress arena) {
  const plan::Value& v = p.values[static_cast<size_t>(r.value)];
  return {arena + v.offset + static_cast<uint64_t>(r.col) * 4, u32(v.width), u32(r.cols)};
}

std::optional<size_t> compactable_head_op(const plan::Program& p) {
  std::optional<size_t> head;
  for (size_t i = 0; i < p.ops.size(); ++i) {
    const Op& op = p.ops[i];
    const bool writes_logits = std::any_of(op.outputs.begin(), op.outputs.end(),
                                           [&](const plan::ActRef& r) { return r.value == p.logits_value; });
    if (!writes_logits) continue;
    if (head) return std::nullopt;  // several writers: leave the program as it is
    // A plain (non-accumulating) linear that writes whole logits rows.
    if (op.kind != OpKind::kLinear || op.inputs.empty() || op.outputs.size() != 1 || attr_int_or(op, "accumulate", 1) != 0)
      return std::nullopt;
    const plan::Value& out = p.values[static_cast<size_t>(p.logits_value)];
    if (op.outputs[0].col != 0 || op.outputs[0].cols != out.width) return std::nullopt;
    head = i;
  }
  return head;
}

uint64_t program_scratch_bytes(const Model& m, ProgramId id, uint32_t max_tokens) {
  uint64_t need = 16;
  const uint32_t ctx = u32(m.context_length());
  for (const Op& op : program_of(m, id).ops) {
    switch (op.kind) {
      case OpKind::kMlaAttention:
        need = std::max(need, kernels::AttentionKernels::mla_scratch_bytes(max_tokens, u32(attr_int_or(op, "heads", 0)),
                                                                           u32(attr_int_or(op, "kv_lora_rank", 0)), ctx));
        break;
      case OpKind::kGqaAttention:
        need = std::max(need, kernels::AttentionKernels::gqa_scratch_bytes(max_tokens, u32(attr_int_or(op, "heads", 0)),
                                                                           u32(attr_int_or(op, "head_dim", 0)), ctx));
        break;
      case OpKind::kMoeExperts: {
        const uint32_t top_k = u32(attr_int_or(op, "top_k", 0)), width = u32(attr_int_or(op, "width", 0));
        // Steps of many rows take the grouped path (tokens gathered per expert, grouped GEMMs).
        need = std::max(need, kernels::LinearKernels::moe_grouped_path(max_tokens, top_k, u32(attr_int_or(op, "experts", 0)))
                                  ? kernels::LinearKernels::moe_grouped_scratch_bytes(
                                        max_tokens, top_k, width, u32(op.inputs.empty() ? 0 : op.inputs[0].cols),
                                        u32(attr_int_or(op, "experts", 0)))
                                  : kernels::LinearKernels::moe_scratch_bytes(max_tokens, top_k, width));
        break;
      }
      default:
        break;
    }
  }
  return need;
}

// Steps of at most this many rows fold RMSNorms and SwiGLUs into their readers (see below).
constexpr uint32_t kMaxFusedRows = 16;

Status record_program(Model& m, ProgramId id, const ProgramBuffers& b, const kernels::StepView& step, vk::CommandBuffer& cmd,
                      const vk::TimestampQueryPool* timestamps, OpRange range) {
  const auto& ops = program_of(m, id).ops;
  if (timestamps) {
    cmd.reset_queries(*timestamps);
    cmd.write_timestamp(*timestamps, 0);
  }
  const size_t end = std::min(range.end, ops.size());
  const plan::Program& p = program_of(m, id);
  const int32_t keep[] = {p.hidden_value, p.logits_value, p.tokens_value, b.keep_value};
  NormFusion fusion;
  std::optional<EmbedNormFusion> embed_norm;
  // Folding saves a dispatch (~30 us on lavapipe) but makes a matrix kernel recompute the norm's
  // sum of squares and the SwiGLU for every block of rows it runs: a win for decode and draft
  // verification, a loss for prefill chunks (f16 v2-lite prefill of 512 tokens: linear ops 12 s
  // unfolded, 16-20 s folded).
  if (b.fuse_norms && step.max_tokens <= kMaxFusedRows) {
    const auto rows = static_cast<uint64_t>(std::max<int64_t>(1, m.manifest().memory.prefill_chunk));
    fusion = plan_norm_fusion(p, range, rows, keep, b.head_rows != 0 ? std::optional<size_t>(b.head_op) : std::nullopt);
    embed_norm = plan_embed_norm_fusion(p, range, rows, keep, b.external_value);
    // Each RMSNorm is fused one way only (the embedding's norm is never folded into a linear
    // when the fusion above takes it; this keeps that true whatever the plan).
    if (embed_norm && (fusion.skip[embed_norm->norm] || (embed_norm->second && fusion.skip[*embed_norm->second])))
      embed_norm.reset();
    if (embed_norm) {
      fusion.skip[embed_norm->norm] = true;
      if (embed_norm->second) fusion.skip[*embed_norm->second] = true;
    }
  } else {
    fusion.skip.assign(ops.size(), false);
    fusion.norm_of.assign(ops.size(), -1);
    fusion.swiglu_of.assign(ops.size(), -1);
  }
  for (size_t i = range.first; i < end; ++i) {
    if (fusion.skip[i]) {  // folded into its readers; the profile shows it as taking no time
      if (timestamps) cmd.write_timestamp(*timestamps, static_cast<uint32_t>(i - range.first + 1));
      continue;
    }
    auto s = record_op(m, id, i, ops[i], b, step, fusion, embed_norm, cmd);
    if (!s.ok()) return std::move(s).error().with_context("recording " + ops[i].label);
    cmd.compute_barrier();
    if (timestamps) cmd.write_timestamp(*timestamps, static_cast<uint32_t>(i - range.first + 1));
  }
  return ok_status();
}

}  // namespace r1vk::exec
