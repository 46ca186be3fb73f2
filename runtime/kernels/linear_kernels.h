// Matrix kernels of the plan ops `linear`, `linear_heads`, `embed` and `moe_experts`, for every
// weight format (f32, f16, q8, q4, fp8). With step.max_tokens == 1 they record GEMV kernels
// (decode); otherwise tiled GEMM kernels over up to max_tokens rows (prefill). Rows t at or past
// StepParams.n_tokens are not touched. Semantics: tests/reference/program_interpreter.cpp.
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "base/status.h"
#include "kernels/linear_bound.h"
#include "kernels/linear_variants.h"
#include "kernels/pipeline_set.h"
#include "kernels/views.h"
#include "vulkan/command_buffer.h"

namespace r1vk::kernels {

// One routed expert's matrices, as the executor lays them out in the expert table buffer
// (std430: four u64 addresses per expert).
struct ExpertAddresses {
  VkDeviceAddress gate_up_data, gate_up_scales;  // [2 * width, hidden]: gate rows, then up rows
  VkDeviceAddress down_data, down_scales;        // [hidden, width]
};
static_assert(sizeof(ExpertAddresses) == 32);

struct MoeExpertsArgs {
  VkDeviceAddress expert_table = 0;  // ExpertAddresses[experts]
  WeightFormat format = WeightFormat::kF16;  // every expert's gate|up matrix has this format
  uint32_t experts = 0, top_k = 0, width = 0, hidden = 0;
  uint32_t group = 0;  // q8/q4/fp8 group of the expert matrices
  // The down matrices' format and group when they differ from gate|up (GGUF Q4_K_M files store
  // ffn_down_exps as Q6_K in some layers); unset: `format` / `group`.
  std::optional<WeightFormat> down_format;
  std::optional<uint32_t> down_group;
  ActView in;       // [T, hidden]
  ActView ids;      // [T, top_k] i32 expert ids (from moe_route)
  ActView weights;  // [T, top_k] f32 routing weights
  ActView out;      // [T, hidden], accumulated into
  VkDeviceAddress scratch = 0;  // moe_scratch_bytes() bytes
  // Bytes at `scratch`. With moe_grouped_path(max_tokens, ...) and at least
  // moe_grouped_scratch_bytes(), prefill takes the grouped path (jobs grouped by expert, grouped GEMMs, weighted combine); otherwise
  // every (token, expert) job runs its own GEMVs. 0: the per-job path.
  uint64_t scratch_size = 0;
};

// The RMSNorm a linear can apply to its input as it reads it (weight: f32 [input cols]).
struct InputNorm {
  VkDeviceAddress weight = 0;  // 0: none
  float eps = 0.0f;
};

// An RMSNorm of another activation recorded in the same dispatch as record_embed_norm's:
// out[t, :] = in[t, :] / sqrt(mean(in[t, :]^2) + eps) * weight (f32 [in.cols]), rows t < n_tokens.
struct SecondNorm {
  ActView in, out;  // in.cols == out.cols
  VkDeviceAddress weight = 0;  // 0: none
  float eps = 0.0f;
};

class LinearKernels {
 public:
  explicit LinearKernels(PipelineSet& pipelines);

  // out[t, r] = (accumulate ? out[t, r] : 0) + sum_c W[r, c] * in[t, c] + (bias ? bias[r] : 0)
  // for r < w.rows; in.cols == w.cols, out.cols == w.rows; bias: f32 [w.rows] or 0. With
  // norm.weight, in[t, :] is first RMSNormed: in[t, c] * norm.weight[c] / sqrt(mean(in[t, :]^2)
  // + norm.eps) (shaders/linear.comp; one dispatch instead of an rmsnorm and the linear).
  Status record_linear(vk::CommandBuffer& cmd, const WeightView& w, VkDeviceAddress bias, const ActView& in,
                       const ActView& out, bool accumulate, const StepView& step, const InputNorm& norm = {});

  // record_linear of the SwiGLU of gate_up: in[t, c] = silu(g) * u with g = gate_up[t, c], u =
  // gate_up[t, w.cols + c] (gate_up.cols == 2 * w.cols; MODEL_SPEC's SwiGLU, computed as the
  // kernel reads x, so a down projection needs no swiglu dispatch before it).
  Status record_linear_swiglu(vk::CommandBuffer& cmd, const WeightView& w, VkDeviceAddress bias, const ActView& gate_up,
                              const ActView& out, bool accumulate, const StepView& step);

  // Per head h < heads, with R = w.rows / heads and C = w.cols:
  // out[t, h*R + r] = sum_c W[h*R + r, c] * in[t, h*in_head_stride + in_offset + c]
  Status record_linear_heads(vk::CommandBuffer& cmd, const WeightView& w, uint32_t heads, const ActView& in,
                             uint32_t in_head_stride, uint32_t in_offset, const ActView& out, const StepView& step);

  // out[t, :] = row tokens[t] of the table, dequantised; zero when zero_at_position0 and the
  // row's position is 0. Token ids outside [0, table.rows) give a zero row (ids come from the
  // host or the sampler, which both check them, so this only guards memory).
  Status record_embed(vk::CommandBuffer& cmd, const WeightView& table, const ActView& tokens, const ActView& out,
                      bool zero_at_position0, const StepView& step);

  // record_embed followed by an RMSNorm of the embedded rows (norm.weight: f32 [table.cols],
  // required) and, with second.weight, another row RMSNorm, in one dispatch (shaders/
  // embed_norm.comp): the MTP layer's enorm(embed(t)) and hnorm(h) (exec/norm_fusion.h). The
  // values are those of record_embed then AttentionKernels::record_rmsnorm, bit for bit.
  Status record_embed_norm(vk::CommandBuffer& cmd, const WeightView& table, const ActView& tokens, const ActView& out,
                           bool zero_at_position0, const InputNorm& norm, const SecondNorm& second, const StepView& step);

  // out[t] += sum_k weights[t, k] * down_e(silu(gate_e(in[t])) * up_e(in[t])), e = ids[t, k].
  Status record_moe_experts(vk::CommandBuffer& cmd, const MoeExpertsArgs& args, const StepView& step);
  static uint64_t moe_scratch_bytes(uint32_t max_tokens, uint32_t top_k, uint32_t width);
  // Whether steps of up to max_tokens rows take the grouped path (given its scratch): when the
  // max_tokens * top_k jobs are expected to read at least 20 % fewer expert matrices grouped by
  // expert than one by one (uniform routing: E * (1 - (1 - 1/E)^jobs) distinct experts). Fewer
  // rows run the per-job GEMVs: grouping then saves few weight reads and costs two more
  // dispatches and a one-invocation grouping pass (on lavapipe a 2-row MoE step took twice the
  // 1-row step grouped, the MTP verify step's case).
  static bool moe_grouped_path(uint32_t max_tokens, uint32_t top_k, uint32_t experts);
  // Scratch for the grouped prefill path (a superset of moe_scratch_bytes).
  static uint64_t moe_grouped_scratch_bytes(uint32_t max_tokens, uint32_t top_k, uint32_t width, uint32_t hidden,
                                            uint32_t experts);

  // Forces one shader shape for linear / linear_heads / moe_experts (tests and benchmarks sweep
  // shapes); std::nullopt restores the per-device choice (linear_variants.h).
  void set_shape_override(std::optional<LinearShape> shape) { override_ = std::move(shape); }
  // Whether record_linear / record_linear_heads bind W as storage buffers and x as a texel view
  // (the descriptor-bound twin, linear_bound.h), and the grouped MoE GEMMs x as a texel view, where
  // they can: nullopt = the device's choice
  // (linear_bound_preferred), false = never, true = whenever the buffers allow it (tests).
  void set_bound_override(std::optional<bool> bound) { bound_override_ = bound; }
  // Tests: bind at most this many bytes per binding (below maxStorageBufferRange), so small
  // weights exercise the row slicing; nullopt: the device's limit.
  void set_bound_range_limit(std::optional<uint64_t> bytes) { bound_range_limit_ = bytes; }
  // Dispatches recorded with the descriptor-bound twin so far (tests check the path is taken).
  uint64_t bound_dispatches() const { return bound_dispatches_; }
  // The shape record_linear would use for this weight and token count.
  LinearShape shape_for(WeightFormat format, uint32_t cols, uint32_t max_tokens, bool moe, bool normed = false) const;

 private:
  struct Dispatch;
  Status record_matrix(vk::CommandBuffer& cmd, const char* op, const Dispatch& d, const StepView& step);
  static Dispatch weight_dispatch(const WeightView& w, const StepView& step);
  std::optional<BoundLinearPlan> bound_plan(const Dispatch& d) const;
  // The texel view holding x when `elements` f32 values from x fit it and its 32-bit offsets.
  std::optional<vk::TexelSpan> x_texels(VkDeviceAddress x, uint64_t elements) const;
  static std::vector<uint32_t> texel_x_spec(std::vector<uint32_t> spec, const vk::TexelSpan& x);
  // `norm`: the fused RMSNorm weight's texels (flags & 4), else x's again (bound, never read).
  Status record_bound(vk::CommandBuffer& cmd, const Dispatch& d, const LinearShape& s, const std::vector<uint32_t>& spec,
                      const BoundLinearPlan& plan, const vk::TexelSpan& x, const vk::TexelSpan& norm,
                      uint64_t token_blocks, const StepView& step);
  Status record_moe_grouped(vk::CommandBuffer& cmd, const MoeExpertsArgs& a, const StepView& step);

  PipelineSet& pipelines_;
  std::optional<LinearShape> override_;
  std::optional<bool> bound_override_;
  std::optional<uint64_t> bound_range_limit_;
  uint64_t bound_dispatches_ = 0;
};

}  // namespace r1vk::kernels
