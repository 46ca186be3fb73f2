#include "kernels/linear_kernels.h"

#include <algorithm>
#include <cmath>
#include <span>
#include <string>
#include <vector>

#include "kernels/reduction_variant.h"
#include "kernels/linear_bound.h"
#include "vulkan/kernel_variants.h"

namespace r1vk::kernels {
namespace detail {

// Push-constant block of shaders/linear.comp (buffer references are 8 bytes).
struct LinearParams {
  VkDeviceAddress w_data, w_scales, x, y, bias, step, ids, route_w;
  uint32_t rows, cols, x_stride, x_head_stride, x_offset, y_stride, flags, top_k, experts, ids_stride, route_stride;
  float norm_eps;          // flags & 4: fused RMSNorm of the input
  VkDeviceAddress groups;  // grouped MoE: expert offsets and job list (shaders/moe_group.comp)
  VkDeviceAddress norm_w;  // flags & 4: the RMSNorm weight
};
static_assert(sizeof(LinearParams) <= 128);

}  // namespace detail

namespace {

using detail::LinearParams;

// shaders/embed.comp
struct EmbedParams {
  VkDeviceAddress w_data, w_scales, ids, y, step;
  uint32_t rows, cols, ids_stride, y_stride, zero_at_position0;
};

// shaders/embed_norm.comp
struct EmbedNormParams {
  VkDeviceAddress w_data, w_scales, ids, y, step, norm_w, x2, y2, norm2_w;
  uint32_t rows, cols, ids_stride, y_stride, zero_at_position0, x2_stride, y2_stride, cols2, flags;
  float eps, eps2;
};
static_assert(sizeof(EmbedNormParams) <= 128);

// shaders/moe_group.comp
struct GroupParams {
  VkDeviceAddress ids, groups, step;
  uint32_t experts, top_k, ids_stride, max_jobs;
};

// shaders/moe_combine.comp
struct CombineParams {
  VkDeviceAddress ydown, out, ids, step;
  uint32_t hidden, top_k, experts, ids_stride, out_stride;
};

// shaders/moe_swiglu.comp
struct SwigluParams {
  VkDeviceAddress gu, act, step;
  uint32_t width, top_k;
};

template <typename T>
std::span<const std::byte> bytes_of(const T& v) {
  return std::as_bytes(std::span<const T, 1>(&v, 1));
}

Status fail(const char* op, const std::string& what) {
  return make_error(ErrorCode::kInvalidArgument, std::string(op) + ": " + what);
}

// The format's group as the shaders use it (spec constant GROUP).
uint32_t shader_group(WeightFormat format, uint32_t group) {
  switch (format) {
    case WeightFormat::kQ8: return 32;
    case WeightFormat::kFp8: return 128;
    case WeightFormat::kQ4: return group;
    default: return 32;  // unused
  }
}

// Shape, group and addresses a weight view must have before any kernel reads it.
Status check_weight(const char* op, WeightFormat format, uint32_t rows, uint32_t cols, uint32_t group,
                    VkDeviceAddress data, VkDeviceAddress scales, bool check_addresses) {
  const int64_t g = format == WeightFormat::kF32 || format == WeightFormat::kF16 ? 0 : group;
  auto bytes = packed_data_bytes(format, rows, cols, g);
  if (!bytes.ok()) return fail(op, bytes.error().message());
  const uint64_t padded = g > 0 && format != WeightFormat::kFp8 ? (uint64_t{cols} + g - 1) / g * g : cols;
  // The shaders index weights with 32-bit element offsets.
  if (uint64_t{rows} * padded >= (uint64_t{1} << 32))
    return fail(op, "weight [" + std::to_string(rows) + ", " + std::to_string(cols) + "] exceeds 2^32 elements");
  if (check_addresses) {
    if (data == 0) return fail(op, "weight data address is 0");
    const bool has_scales = format == WeightFormat::kQ8 || format == WeightFormat::kQ4 || format == WeightFormat::kFp8;
    if (has_scales && scales == 0)
      return fail(op, std::string(weight_format_name(format)) + " weight needs a scales address");
    // Byte-packed data is read as 32-bit words, scales as f16/f32 (plan blobs are 16-aligned).
    if (data % 4 != 0 || scales % 4 != 0) return fail(op, "weight data and scales must be 4-byte aligned");
    // q4_k super-blocks (144 bytes) are read with 16-byte loads from the block start.
    if (format == WeightFormat::kQ4K && data % 16 != 0) return fail(op, "q4_k weight data must be 16-byte aligned");
  }
  return ok_status();
}

Status check_step(const char* op, const StepView& step) {
  if (step.params == 0) return fail(op, "step parameters address is 0");
  if (step.max_tokens == 0) return fail(op, "max_tokens must be positive");
  return ok_status();
}

Status check_act(const char* op, const char* role, const ActView& a, uint32_t cols) {
  if (a.addr == 0) return fail(op, std::string(role) + " address is 0");
  if (a.cols != cols) return fail(op, std::string(role) + " has " + std::to_string(a.cols) + " columns, expected " + std::to_string(cols));
  if (a.row_stride < a.cols) return fail(op, std::string(role) + " row stride is smaller than its columns");
  return ok_status();
}

Status dispatch_checked(vk::CommandBuffer& cmd, const vk::DeviceCaps& caps, const char* op, uint64_t x, uint64_t y,
                        uint64_t z) {
  if (x > caps.max_workgroup_count[0] || y > caps.max_workgroup_count[1] || z > caps.max_workgroup_count[2])
    return make_error(ErrorCode::kOutOfRange, std::string(op) + ": grid " + std::to_string(x) + " x " + std::to_string(y) +
                                                  " x " + std::to_string(z) + " exceeds the device's workgroup counts");
  cmd.dispatch(static_cast<uint32_t>(x), static_cast<uint32_t>(y), static_cast<uint32_t>(z));
  return ok_status();
}

bool aligned16(uint64_t v) { return v % 16 == 0; }

uint64_t caps_x(const vk::DeviceCaps& caps) { return caps.max_workgroup_count[0]; }

}  // namespace

// One matrix dispatch of linear.comp, filled in by the record_* calls.
struct LinearKernels::Dispatch {
  WeightFormat format = WeightFormat::kF16;
  uint32_t group = 0;
  LinearParams params{};
  uint32_t heads = 1;
  uint32_t jobs = 1;  // max rows of x (tokens, or token x expert jobs)
  bool moe = false;      // one job per invocation (per-job expert GEMVs)
  uint32_t repeat = 1;   // times the kernel may run the column loop per invocation
  bool grouped = false;  // grouped MoE: grid x covers an expert's jobs by grid stride (see below)
  bool weight_vec = false;
  bool x_vec = false;
  // Plain linear / linear_heads: the weight and x, for the descriptor-bound twin.
  const WeightView* weight = nullptr;
  ActView x{};
  uint64_t x_rows = 0;  // grouped MoE: rows of x the GEMM may read (x bound when set)
};

LinearKernels::LinearKernels(PipelineSet& pipelines) : pipelines_(pipelines) {}

LinearShape LinearKernels::shape_for(WeightFormat format, uint32_t cols, uint32_t max_tokens, bool moe, bool normed) const {
  if (override_) {
    LinearShape s = *override_;
    if (moe || max_tokens <= 1) s.tokens = 1;
    return s;
  }
  return choose_linear_shape(pipelines_.context().caps(), format, cols, max_tokens, moe, normed);
}

Status LinearKernels::record_matrix(vk::CommandBuffer& cmd, const char* op, const Dispatch& d, const StepView& step) {
  const vk::DeviceCaps& caps = pipelines_.context().caps();
  const uint32_t cols = d.params.cols;
  // A fused RMSNorm (flags 4) adds a loop over the columns (norm_scale) that counts as well.
  const bool normed = !d.moe && (d.params.flags & 4u) != 0;
  // A shape the caller forced (bench-kernels --shape-rows) is kept as given.
  const LinearShape chosen = shape_for(d.format, cols, d.jobs, d.moe, normed);
  const LinearShape s = override_ ? chosen : fit_linear_rows(chosen, d.params.rows);
  if (const std::string problem = linear_shape_problem(s, caps); !problem.empty())
    return fail(op, "shape " + s.shape + ": " + problem);
  uint64_t iterations = linear_loop_iterations(s, d.format, cols, normed);
  // Grouped MoE: jobs per expert average jobs / experts, so x gets twice that many blocks (not
  // one per token: most of experts x max_tokens workgroups would find no work) and the shader's
  // grid-stride loop covers an expert with more jobs; worst case one expert has all of them.
  uint64_t token_blocks = (uint64_t{d.jobs} + s.tokens - 1) / s.tokens;
  uint64_t repeat = d.repeat;
  if (d.grouped) {
    const uint64_t all_jobs = uint64_t{d.jobs} * d.params.top_k;
    const uint64_t per_expert = (all_jobs + d.params.experts - 1) / d.params.experts;
    token_blocks = std::min(token_blocks, std::max<uint64_t>(1, 2 * ((per_expert + s.tokens - 1) / s.tokens)));
    repeat = (all_jobs + token_blocks * s.tokens - 1) / (token_blocks * s.tokens);
  }
  iterations *= repeat;
  if (iterations >= vk::kLoopIterationLimit)
    return make_error(ErrorCode::kOutOfRange, std::string(op) + ": rows of " + std::to_string(cols) + " columns need " +
                                                  std::to_string(iterations) + " loop iterations per invocation with shape " +
                                                  s.shape + "; CPU drivers stop at 65535");
  const std::string name = linear_variant_name(op, s, d.format);
  const std::vector<uint32_t> spec = {s.workgroup, s.rows, s.tokens, shader_group(d.format, d.group),
                                      d.weight_vec ? 1u : 0u, d.x_vec ? 1u : 0u, d.params.flags & 12u};
  if (d.grouped && d.x_rows > 0 && (bound_override_ ? *bound_override_ : moe_bound_x_preferred(caps, s)) &&
      caps.push_descriptor) {
    const auto tx = x_texels(d.x.addr, (d.x_rows - 1) * d.params.x_stride + d.params.x_offset + d.params.cols);
    if (tx && s.lanes()) {
      R1VK_ASSIGN_OR_RETURN(const vk::ComputePipeline* p,
                            pipelines_.get(std::string(op) + "_lanes_bx_" + weight_format_name(d.format),
                                           texel_x_spec(spec, *tx), sizeof(LinearParams), 0, 1));
      LinearParams params = d.params;
      params.step = step.params;
      params.x_offset += static_cast<uint32_t>(tx->element);
      cmd.bind(*p);
      cmd.push_storage_buffers(*p, {}, std::span<const VkBufferView>(&tx->view, 1));
      cmd.push_constants(*p, bytes_of(params));
      ++bound_dispatches_;
      return dispatch_checked(cmd, caps, op, token_blocks, d.heads,
                              (uint64_t{d.params.rows} + s.rows_per_workgroup() - 1) / s.rows_per_workgroup());
    }
  }
  // The bound twin exists for the lanes shape only (a reduction shape falls back from lanes for long rows).
  if (d.weight && s.lanes() && (bound_override_ ? *bound_override_ : linear_bound_preferred(caps, s, d.format, d.jobs))) {
    // A SwiGLU input (flags & 8) reads the up half, cols past the gate half.
    const uint64_t x_elements = uint64_t{d.jobs - 1} * d.params.x_stride + uint64_t{d.heads - 1} * d.params.x_head_stride +
                                d.params.x_offset + uint64_t{d.params.cols} * ((d.params.flags & 8u) != 0 ? 2 : 1);
    // The fused RMSNorm's weight is the second texel binding (x's view again when there is none).
    const auto tx = x_texels(d.x.addr, x_elements);
    const auto tn = (d.params.flags & 4u) != 0 ? x_texels(d.params.norm_w, d.params.cols) : tx;
    if (auto plan = bound_plan(d); plan && tx && tn) return record_bound(cmd, d, s, spec, *plan, *tx, *tn, token_blocks, step);
  }
  R1VK_ASSIGN_OR_RETURN(const vk::ComputePipeline* p, pipelines_.get(name, spec, sizeof(LinearParams)));
  LinearParams params = d.params;
  params.step = step.params;
  cmd.bind(*p);
  cmd.push_constants(*p, bytes_of(params));
  const uint64_t rows_per_head = d.params.rows;
  return dispatch_checked(cmd, caps, op, token_blocks, d.heads,
                          (rows_per_head + s.rows_per_workgroup() - 1) / s.rows_per_workgroup());
}

// vec4 fetches (X_VEC, spec constant 5) need x to start on a texel boundary of its view.
std::vector<uint32_t> LinearKernels::texel_x_spec(std::vector<uint32_t> spec, const vk::TexelSpan& x) {
  if (x.element % 4 != 0) spec[5] = 0;
  return spec;
}

std::optional<vk::TexelSpan> LinearKernels::x_texels(VkDeviceAddress x, uint64_t elements) const {
  return pipelines_.context().allocator().directory().texel_window(x, elements);  // x_offset is a 32-bit index
}

std::optional<BoundLinearPlan> LinearKernels::bound_plan(const Dispatch& d) const {
  vk::Context& ctx = pipelines_.context();
  if (!ctx.caps().push_descriptor || !linear_bound_format(d.format)) return std::nullopt;
  const vk::BufferDirectory& dir = ctx.allocator().directory();
  const auto data = dir.find(d.weight->data);
  if (!data) return std::nullopt;
  BoundLinearInput in;
  in.format = d.format;
  in.rows = d.params.rows;
  in.heads = d.heads;
  in.cols = d.params.cols;
  in.group = shader_group(d.format, d.group);
  in.data = *data;
  if (d.weight->scales != 0) {
    const auto scales = dir.find(d.weight->scales);
    if (!scales) return std::nullopt;
    in.scales = *scales;
  }
  in.max_range = std::min<uint64_t>(ctx.caps().max_storage_buffer_range, bound_range_limit_.value_or(UINT64_MAX));
  in.offset_alignment = ctx.caps().min_storage_buffer_offset_alignment;
  return plan_bound_linear(in);
}

Status LinearKernels::record_bound(vk::CommandBuffer& cmd, const Dispatch& d, const LinearShape& s,
                                   const std::vector<uint32_t>& spec, const BoundLinearPlan& plan,
                                   const vk::TexelSpan& x, const vk::TexelSpan& norm, uint64_t token_blocks,
                                   const StepView& step) {
  const char* op = "linear";
  const vk::DeviceCaps& caps = pipelines_.context().caps();
  const VkBufferView views[2] = {x.view, norm.view};
  R1VK_ASSIGN_OR_RETURN(const vk::ComputePipeline* p, pipelines_.get(linear_variant_name("linear", s, d.format, true),
                                                                     texel_x_spec(spec, x), sizeof(LinearParams), 2, 2));
  cmd.bind(*p);
  for (const BoundSlice& slice : plan.slices) {
    LinearParams params = d.params;
    params.step = step.params;
    params.x_offset += static_cast<uint32_t>(x.element);
    params.x = (d.params.flags & 4u) != 0 ? norm.element : 0;  // the shader's norm_offset (x itself is bound)
    if (plan.slices.size() > 1) {  // row slices (one head): rows and outputs of this slice
      params.rows = slice.rows;
      params.y += 4ull * slice.row0;
      if (params.bias) params.bias += 4ull * slice.row0;
    }
    const vk::BufferRange ranges[2] = {slice.data, slice.scales};
    cmd.push_storage_buffers(*p, ranges, views);
    cmd.push_constants(*p, bytes_of(params));
    R1VK_TRY(dispatch_checked(cmd, caps, op, token_blocks, d.heads,
                              (uint64_t{params.rows} + s.rows_per_workgroup() - 1) / s.rows_per_workgroup()));
    ++bound_dispatches_;
  }
  return ok_status();
}

// The fields every dispatch of one weight matrix shares (linear, its SwiGLU twin, linear_heads).
LinearKernels::Dispatch LinearKernels::weight_dispatch(const WeightView& w, const StepView& step) {
  Dispatch d;
  d.format = w.format;
  d.group = w.group;
  d.jobs = step.max_tokens;
  d.weight_vec = linear_rows_aligned(w.format, w.cols) && aligned16(w.data);
  d.weight = &w;
  return d;
}

Status LinearKernels::record_linear(vk::CommandBuffer& cmd, const WeightView& w, VkDeviceAddress bias,
                                    const ActView& in, const ActView& out, bool accumulate, const StepView& step,
                                    const InputNorm& norm) {
  const char* op = "linear";
  R1VK_TRY(check_step(op, step));
  R1VK_TRY(check_weight(op, w.format, w.rows, w.cols, w.group, w.data, w.scales, true));
  R1VK_TRY(check_act(op, "input", in, w.cols));
  R1VK_TRY(check_act(op, "output", out, w.rows));
  Dispatch d = weight_dispatch(w, step);
  d.x_vec = aligned16(in.addr) && in.row_stride % 4 == 0;
  if (norm.weight != 0 && !(norm.eps > 0.0f)) return fail(op, "a fused RMSNorm needs a positive epsilon");
  d.params = LinearParams{w.data, w.scales, in.addr, out.addr, bias, 0, 0, 0, w.rows, w.cols, in.row_stride, 0, 0,
                          out.row_stride, (bias ? 1u : 0u) | (accumulate ? 2u : 0u) | (norm.weight ? 4u : 0u), 0, 0, 0, 0,
                          norm.eps, 0, norm.weight};
  d.x = in;
  return record_matrix(cmd, op, d, step);
}

Status LinearKernels::record_linear_swiglu(vk::CommandBuffer& cmd, const WeightView& w, VkDeviceAddress bias,
                                           const ActView& gate_up, const ActView& out, bool accumulate, const StepView& step) {
  const char* op = "linear";
  R1VK_TRY(check_step(op, step));
  R1VK_TRY(check_weight(op, w.format, w.rows, w.cols, w.group, w.data, w.scales, true));
  R1VK_TRY(check_act(op, "gate|up input", gate_up, 2 * w.cols));
  R1VK_TRY(check_act(op, "output", out, w.rows));
  Dispatch d = weight_dispatch(w, step);
  // The up half starts w.cols after the gate half: vec4 loads need it aligned as well.
  d.x_vec = aligned16(gate_up.addr) && gate_up.row_stride % 4 == 0 && w.cols % 4 == 0;
  d.params = LinearParams{w.data, w.scales, gate_up.addr, out.addr, bias, 0, 0, 0, w.rows, w.cols, gate_up.row_stride, 0, 0,
                          out.row_stride, (bias ? 1u : 0u) | (accumulate ? 2u : 0u) | 8u, 0, 0, 0, 0, 0.0f, 0, 0};
  d.x = gate_up;
  return record_matrix(cmd, op, d, step);
}

Status LinearKernels::record_linear_heads(vk::CommandBuffer& cmd, const WeightView& w, uint32_t heads,
                                          const ActView& in, uint32_t in_head_stride, uint32_t in_offset,
                                          const ActView& out, const StepView& step) {
  const char* op = "linear";  // the same kernels, one head per grid row
  R1VK_TRY(check_step("linear_heads", step));
  if (heads == 0 || w.rows % heads != 0)
    return fail("linear_heads", std::to_string(w.rows) + " weight rows do not split into " + std::to_string(heads) + " heads");
  R1VK_TRY(check_weight("linear_heads", w.format, w.rows, w.cols, w.group, w.data, w.scales, true));
  R1VK_TRY(check_act("linear_heads", "output", out, w.rows));
  if (in.addr == 0 || in.row_stride < in.cols) return fail("linear_heads", "input view is invalid");
  if (uint64_t{heads - 1} * in_head_stride + in_offset + w.cols > in.cols)
    return fail("linear_heads", "head windows (stride " + std::to_string(in_head_stride) + ", offset " +
                                    std::to_string(in_offset) + ", " + std::to_string(w.cols) + " columns) exceed the input's " +
                                    std::to_string(in.cols) + " columns");
  Dispatch d = weight_dispatch(w, step);
  d.heads = heads;
  d.x_vec = aligned16(in.addr) && in.row_stride % 4 == 0 && in_head_stride % 4 == 0 && in_offset % 4 == 0;
  d.params = LinearParams{w.data, w.scales, in.addr, out.addr, 0, 0, 0, 0, w.rows / heads, w.cols, in.row_stride,
                          in_head_stride, in_offset, out.row_stride, 0, 0, 0, 0, 0, 0.0f, 0, 0};
  d.x = in;
  return record_matrix(cmd, op, d, step);
}

Status LinearKernels::record_embed(vk::CommandBuffer& cmd, const WeightView& table, const ActView& tokens,
                                   const ActView& out, bool zero_at_position0, const StepView& step) {
  const char* op = "embed";
  R1VK_TRY(check_step(op, step));
  R1VK_TRY(check_weight(op, table.format, table.rows, table.cols, table.group, table.data, table.scales, true));
  R1VK_TRY(check_act(op, "output", out, table.cols));
  if (tokens.addr == 0 || tokens.cols < 1) return fail(op, "token id view is invalid");
  const vk::DeviceCaps& caps = pipelines_.context().caps();
  const uint32_t wg = std::min<uint32_t>(64, caps.max_workgroup_invocations);
  if ((uint64_t{table.cols} + wg - 1) / wg >= vk::kLoopIterationLimit)
    return make_error(ErrorCode::kOutOfRange, "embed: rows of " + std::to_string(table.cols) + " columns are too long");
  const EmbedParams params{table.data, table.scales, tokens.addr, out.addr, step.params, table.rows, table.cols,
                           tokens.row_stride, out.row_stride, zero_at_position0 ? 1u : 0u};
  R1VK_ASSIGN_OR_RETURN(const vk::ComputePipeline* p,
                        pipelines_.get(std::string("embed_") + weight_format_name(table.format),
                                       {wg, 0, 0, shader_group(table.format, table.group)}, sizeof params));
  cmd.bind(*p);
  cmd.push_constants(*p, bytes_of(params));
  return dispatch_checked(cmd, caps, op, 1, 1, step.max_tokens);
}

uint64_t LinearKernels::moe_scratch_bytes(uint32_t max_tokens, uint32_t top_k, uint32_t width) {
  // gate|up outputs [jobs, 2 * width] (the down GEMV applies the SwiGLU as it reads them).
  return uint64_t{4} * max_tokens * top_k * 2 * width;
}

bool LinearKernels::moe_grouped_path(uint32_t max_tokens, uint32_t top_k, uint32_t experts) {
  if (max_tokens <= 1 || experts == 0) return false;
  const double jobs = static_cast<double>(max_tokens) * top_k, e = experts;
  const double distinct = e * (1.0 - std::pow(1.0 - 1.0 / e, jobs));
  return jobs >= 1.25 * distinct;
}

uint64_t LinearKernels::moe_grouped_scratch_bytes(uint32_t max_tokens, uint32_t top_k, uint32_t width, uint32_t hidden,
                                                  uint32_t experts) {
  // gate|up [jobs, 2 * width], act [jobs, width], weighted down rows [jobs, hidden], then the
  // u32 groups (offsets [experts + 1], job list [jobs], cursors [experts]).
  const uint64_t jobs = uint64_t{max_tokens} * top_k;
  return 4 * jobs * (3 * uint64_t{width} + hidden) + 4 * (2 * uint64_t{experts} + 1 + jobs);
}

Status LinearKernels::record_embed_norm(vk::CommandBuffer& cmd, const WeightView& table, const ActView& tokens,
                                        const ActView& out, bool zero_at_position0, const InputNorm& norm,
                                        const SecondNorm& second, const StepView& step) {
  const char* op = "embed_norm";
  R1VK_TRY(check_step(op, step));
  R1VK_TRY(check_weight(op, table.format, table.rows, table.cols, table.group, table.data, table.scales, true));
  R1VK_TRY(check_act(op, "output", out, table.cols));
  if (tokens.addr == 0 || tokens.cols < 1) return fail(op, "token id view is invalid");
  if (norm.weight == 0) return fail(op, "no RMSNorm weight");
  const bool two = second.weight != 0;
  if (two) {
    if (second.in.cols == 0) return fail(op, "the second RMSNorm has zero columns");
    R1VK_TRY(check_act(op, "second input", second.in, second.in.cols));
    R1VK_TRY(check_act(op, "second output", second.out, second.in.cols));
  }
  // The workgroup and reduction of AttentionKernels::record_rmsnorm, so the sums match it.
  const auto [variant, wg] = detail::reduction_variant(pipelines_, std::string("embed_norm_") + weight_format_name(table.format));
  const uint64_t widest = std::max<uint64_t>(table.cols, two ? second.in.cols : 0);
  if (2 * ((widest + wg - 1) / wg) + 16 >= vk::kLoopIterationLimit)
    return make_error(ErrorCode::kOutOfRange, std::string(op) + ": rows of " + std::to_string(widest) + " columns are too long");
  const EmbedNormParams params{table.data,
                               table.scales,
                               tokens.addr,
                               out.addr,
                               step.params,
                               norm.weight,
                               two ? second.in.addr : 0,
                               two ? second.out.addr : 0,
                               second.weight,
                               table.rows,
                               table.cols,
                               tokens.row_stride,
                               out.row_stride,
                               zero_at_position0 ? 1u : 0u,
                               two ? second.in.row_stride : 0,
                               two ? second.out.row_stride : 0,
                               two ? second.in.cols : 0,
                               two ? 1u : 0u,
                               norm.eps,
                               second.eps};
  R1VK_ASSIGN_OR_RETURN(const vk::ComputePipeline* p,
                        pipelines_.get(variant, {wg, 0, 0, shader_group(table.format, table.group)}, sizeof params));
  cmd.bind(*p);
  cmd.push_constants(*p, bytes_of(params));
  const uint64_t groups = step.max_tokens;  // one workgroup per row, a flat (x, y) grid
  const uint64_t x = std::min<uint64_t>(groups, caps_x(pipelines_.context().caps()));
  return dispatch_checked(cmd, pipelines_.context().caps(), op, x, (groups + x - 1) / x, 1);
}

Status LinearKernels::record_moe_grouped(vk::CommandBuffer& cmd, const MoeExpertsArgs& a, const StepView& step) {
  const char* op = "moe_experts";
  const vk::DeviceCaps& caps = pipelines_.context().caps();
  const uint64_t jobs = uint64_t{step.max_tokens} * a.top_k;
  if (2 * jobs + 2 * uint64_t{a.experts} + 1 >= vk::kLoopIterationLimit || jobs * a.hidden >= (uint64_t{1} << 32))
    return fail(op, "too many (token, expert) jobs for the grouped path; use smaller prefill chunks");
  const VkDeviceAddress gu = a.scratch;
  const VkDeviceAddress act = gu + 4 * jobs * 2 * a.width;
  const VkDeviceAddress ydown = act + 4 * jobs * a.width;
  const VkDeviceAddress groups = ydown + 4 * jobs * a.hidden;

  // 1. Group the jobs by expert.
  const GroupParams gp{a.ids.addr, groups, step.params, a.experts, a.top_k, a.ids.row_stride, static_cast<uint32_t>(jobs)};
  R1VK_ASSIGN_OR_RETURN(const vk::ComputePipeline* pg, pipelines_.get("moe_group", {}, sizeof gp));
  cmd.bind(*pg);
  cmd.push_constants(*pg, bytes_of(gp));
  cmd.dispatch(1);
  cmd.compute_barrier();

  // 2. Grouped gate|up GEMM: grid y = expert, several tokens per invocation.
  Dispatch d;
  d.format = a.format;
  d.group = a.group;
  d.heads = a.experts;
  d.jobs = step.max_tokens;
  d.grouped = true;
  d.weight_vec = linear_rows_aligned(a.format, a.hidden);
  d.x_vec = aligned16(a.in.addr) && a.in.row_stride % 4 == 0;
  d.params = LinearParams{a.expert_table, 0, a.in.addr, gu, 0, 0, a.ids.addr, a.weights.addr, 2 * a.width, a.hidden,
                          a.in.row_stride, 0, 0, 2 * a.width, 0, a.top_k, a.experts, a.ids.row_stride,
                          a.weights.row_stride, 0.0f, groups, 0};
  d.x = a.in;
  d.x_rows = step.max_tokens;
  R1VK_TRY(record_matrix(cmd, "moe_group_gu", d, step));
  cmd.compute_barrier();

  // 3. SwiGLU over every job row.
  const uint32_t wg = std::min<uint32_t>(64, caps.max_workgroup_invocations);
  const SwigluParams sp{gu, act, step.params, a.width, a.top_k};
  R1VK_ASSIGN_OR_RETURN(const vk::ComputePipeline* ps, pipelines_.get("moe_swiglu", {wg}, sizeof sp));
  cmd.bind(*ps);
  cmd.push_constants(*ps, bytes_of(sp));
  R1VK_TRY(dispatch_checked(cmd, caps, op, 1, 1, jobs));
  cmd.compute_barrier();

  // 4. Grouped down GEMM, each job row scaled by its routing weight.
  Dispatch down = d;
  down.format = a.down_format.value_or(a.format);
  down.group = a.down_group.value_or(a.group);
  down.weight_vec = linear_rows_aligned(down.format, a.width);
  down.x_vec = aligned16(act) && a.width % 4 == 0;
  down.params = LinearParams{a.expert_table, 0, act, ydown, 0, 0, a.ids.addr, a.weights.addr, a.hidden, a.width,
                             a.width, 0, 0, a.hidden, 0, a.top_k, a.experts, a.ids.row_stride, a.weights.row_stride, 0.0f, groups, 0};
  down.x = ActView{act, a.width, a.width};
  down.x_rows = jobs;
  R1VK_TRY(record_matrix(cmd, "moe_group_down", down, step));
  cmd.compute_barrier();

  // 5. out[t] += the token's job rows, in k order.
  const CombineParams cp{ydown, a.out.addr, a.ids.addr, step.params, a.hidden, a.top_k, a.experts, a.ids.row_stride,
                         a.out.row_stride};
  R1VK_ASSIGN_OR_RETURN(const vk::ComputePipeline* pc, pipelines_.get("moe_combine", {wg}, sizeof cp));
  cmd.bind(*pc);
  cmd.push_constants(*pc, bytes_of(cp));
  return dispatch_checked(cmd, caps, op, 1, 1, step.max_tokens);
}

Status LinearKernels::record_moe_experts(vk::CommandBuffer& cmd, const MoeExpertsArgs& a, const StepView& step) {
  const char* op = "moe_experts";
  R1VK_TRY(check_step(op, step));
  if (a.expert_table == 0 || a.scratch == 0) return fail(op, "expert table and scratch addresses must be set");
  if (a.experts == 0 || a.top_k == 0 || a.width == 0 || a.hidden == 0)
    return fail(op, "experts, top_k, width and hidden must be positive");
  if (a.top_k > a.experts) return fail(op, "top_k exceeds the expert count");
  R1VK_TRY(check_weight(op, a.format, 2 * a.width, a.hidden, a.group, 0, 0, false));
  R1VK_TRY(check_weight(op, a.down_format.value_or(a.format), a.hidden, a.width, a.down_group.value_or(a.group), 0, 0, false));
  R1VK_TRY(check_act(op, "input", a.in, a.hidden));
  R1VK_TRY(check_act(op, "output", a.out, a.hidden));
  R1VK_TRY(check_act(op, "ids", a.ids, a.top_k));
  R1VK_TRY(check_act(op, "weights", a.weights, a.top_k));
  const uint64_t jobs = uint64_t{step.max_tokens} * a.top_k;
  if (jobs * 3 * a.width >= (uint64_t{1} << 32)) return fail(op, "scratch exceeds 2^32 values");
  if (moe_grouped_path(step.max_tokens, a.top_k, a.experts) &&
      a.scratch_size >= moe_grouped_scratch_bytes(step.max_tokens, a.top_k, a.width, a.hidden, a.experts))
    return record_moe_grouped(cmd, a, step);
  if (a.scratch_size != 0 && a.scratch_size < moe_scratch_bytes(step.max_tokens, a.top_k, a.width))
    return fail(op, "scratch of " + std::to_string(a.scratch_size) + " bytes is too small");
  const VkDeviceAddress gu = a.scratch;

  // 1. gate|up: one job per (token, chosen expert), rows [2 * width] of scratch.
  Dispatch d;
  d.format = a.format;
  d.group = a.group;
  d.moe = true;
  d.repeat = a.top_k;
  d.jobs = static_cast<uint32_t>(jobs);
  // Expert matrices are blobs of the plan (16-byte aligned by the plan format).
  d.weight_vec = linear_rows_aligned(a.format, a.hidden);
  d.x_vec = aligned16(a.in.addr) && a.in.row_stride % 4 == 0;
  d.params = LinearParams{a.expert_table, 0, a.in.addr, gu, 0, 0, a.ids.addr, a.weights.addr, 2 * a.width, a.hidden,
                          a.in.row_stride, 0, 0, 2 * a.width, 0, a.top_k, a.experts, a.ids.row_stride, a.weights.row_stride, 0.0f, 0, 0};
  R1VK_TRY(record_matrix(cmd, "moe_gu", d, step));
  cmd.compute_barrier();

  // 2. down of silu(gate) * up (the SwiGLU computed as the kernel reads the gate|up rows: flag
  // 8, no dispatch of its own), weighted by the routing weights, summed over k, added to out.
  Dispatch down = d;
  down.format = a.down_format.value_or(a.format);
  down.group = a.down_group.value_or(a.group);
  down.jobs = step.max_tokens;
  down.weight_vec = linear_rows_aligned(down.format, a.width);
  down.x_vec = aligned16(gu) && a.width % 4 == 0;
  down.params = LinearParams{a.expert_table, 0, gu, a.out.addr, 0, 0, a.ids.addr, a.weights.addr, a.hidden, a.width,
                             2 * a.width, 0, 0, a.out.row_stride, 8u, a.top_k, a.experts, a.ids.row_stride, a.weights.row_stride,
                             0.0f, 0, 0};
  return record_matrix(cmd, "moe_down", down, step);
}

}  // namespace r1vk::kernels
