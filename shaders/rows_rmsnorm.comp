#version 460
// y[t, :] = x[t, :] / sqrt(mean(x[t, :]^2) + eps) * weight for rows t < n_tokens (one workgroup
// per row). Rows are windows of wider activations (strides in elements); y may alias x.
#include "common.glsl"
#include "step.glsl"

layout(local_size_x_id = 0) in;
#include "reduce.glsl"

layout(push_constant) uniform Params {
  F32In x;
  F32In weight;
  F32Out y;
  StepParams step;
  uint x_stride;
  uint y_stride;
  uint cols;
  float eps;
} p;

void main() {
  const uint t = flat_group_id();
  if (t >= p.step.n_tokens) return;  // uniform per workgroup
  const uint xb = t * p.x_stride, yb = t * p.y_stride;
  float sum_sq = 0.0;
  for (uint i = gl_LocalInvocationID.x; i < p.cols; i += gl_WorkGroupSize.x) {
    const float v = p.x.v[xb + i];
    sum_sq = fma(v, v, sum_sq);
  }
  const float scale = inversesqrt(workgroup_sum(sum_sq) / float(p.cols) + p.eps);
  for (uint i = gl_LocalInvocationID.x; i < p.cols; i += gl_WorkGroupSize.x)
    p.y.v[yb + i] = p.x.v[xb + i] * scale * p.weight.v[i];
}
