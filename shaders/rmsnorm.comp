#version 460
// y[r, :] = x[r, :] / sqrt(mean(x[r, :]^2) + eps) * weight   (one workgroup per row)
#include "common.glsl"

layout(local_size_x_id = 0) in;
#include "reduce.glsl"

layout(push_constant) uniform Params {
  F32In x;
  F32In weight;
  F32Out y;
  uint rows;
  uint dim;
  float eps;
} p;

void main() {
  const uint row = flat_group_id();
  if (row >= p.rows) return;  // uniform per workgroup, so safe around barriers
  const uint base = row * p.dim;
  float sum_sq = 0.0;
  for (uint i = gl_LocalInvocationID.x; i < p.dim; i += gl_WorkGroupSize.x) {
    const float v = p.x.v[base + i];
    sum_sq = fma(v, v, sum_sq);
  }
  const float scale = inversesqrt(workgroup_sum(sum_sq) / float(p.dim) + p.eps);
  for (uint i = gl_LocalInvocationID.x; i < p.dim; i += gl_WorkGroupSize.x)
    p.y.v[base + i] = p.x.v[base + i] * scale * p.weight.v[i];
}
