#version 460
// The MTP layer's input in one dispatch (exec/norm_fusion.h, plan_embed_norm_fusion): for rows
// t < n_tokens, one workgroup per row,
//   y[t, :]  = RMSNorm(row ids[t] of a packed table, dequantised; any FORMAT) with norm_w, eps
//   y2[t, :] = RMSNorm(x2[t, :]) with norm2_w, eps2                          (flags & 1)
// where RMSNorm(v) = v / sqrt(mean(v^2) + eps) * weight (MODEL_SPEC). The embedded row is zero
// (and so its norm) when the id is outside [0, rows) or when zero_at_position0 is set and the
// row's position is 0, as in embed.comp. The sums and products are those of embed.comp followed
// by rows_rmsnorm.comp with the same workgroup and reduction (REDUCE_MODE), so the values are
// the unfused kernels' bit for bit; only two dispatches fewer (on a CPU driver each costs ~40-100
// us, docs/speculative.md).
#include "common.glsl"
#include "step.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 3) const uint GROUP = 32;

#include "weight_decode.glsl"
#include "reduce.glsl"

layout(push_constant) uniform Params {
  uint64_t w_data;
  uint64_t w_scales;
  U32In ids;
  F32Out y;
  StepParams step;
  F32In norm_w;
  F32In x2;
  F32Out y2;
  F32In norm2_w;
  uint rows;
  uint cols;
  uint ids_stride;
  uint y_stride;
  uint zero_at_position0;
  uint x2_stride;
  uint y2_stride;
  uint cols2;
  uint flags;  // 1: the second RMSNorm (x2 -> y2)
  float eps;
  float eps2;
} p;

void main() {
  const uint t = flat_group_id();
  if (t >= p.step.n_tokens) return;  // uniform per workgroup
  const uint lid = gl_LocalInvocationID.x, WG = gl_WorkGroupSize.x;
  const uint id = p.ids.v[t * p.ids_stride];
  const bool zero = id >= p.rows || (p.zero_at_position0 != 0 && step_pos(p.step, t) == 0);
  const WeightRef w = make_weight_ref(p.w_data, p.w_scales, p.cols, GROUP);
  float sum_sq = 0.0;
  for (uint c = lid; c < p.cols; c += WG) {  // host: cols / WG < 65535
    const float v = zero ? 0.0 : weight_at(w, id, c, GROUP);
    sum_sq = fma(v, v, sum_sq);
  }
  const float scale = inversesqrt(workgroup_sum(sum_sq) / float(p.cols) + p.eps);
  for (uint c = lid; c < p.cols; c += WG) {
    const float v = zero ? 0.0 : weight_at(w, id, c, GROUP);
    p.y.v[t * p.y_stride + c] = v * scale * p.norm_w.v[c];
  }
  if ((p.flags & 1u) == 0) return;  // uniform
  const uint xb = t * p.x2_stride, yb = t * p.y2_stride;
  float sum2 = 0.0;
  for (uint c = lid; c < p.cols2; c += WG) {
    const float v = p.x2.v[xb + c];
    sum2 = fma(v, v, sum2);
  }
  const float scale2 = inversesqrt(workgroup_sum(sum2) / float(p.cols2) + p.eps2);
  for (uint c = lid; c < p.cols2; c += WG) p.y2.v[yb + c] = p.x2.v[xb + c] * scale2 * p.norm2_w.v[c];
}
