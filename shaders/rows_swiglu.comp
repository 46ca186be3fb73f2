#version 460
// y[t, i] = silu(x[t, i]) * x[t, n + i] for rows t < n_tokens, i < n; one invocation per value.
#include "common.glsl"
#include "step.glsl"

layout(local_size_x_id = 0) in;

layout(push_constant) uniform Params {
  F32In x;
  F32Out y;
  StepParams step;
  uint x_stride;
  uint y_stride;
  uint n;
  uint groups_per_row;
} p;

void main() {
  const uint g = flat_group_id();
  const uint t = g / p.groups_per_row;
  const uint i = (g % p.groups_per_row) * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
  if (t >= p.step.n_tokens || i >= p.n) return;
  const float a = p.x.v[t * p.x_stride + i];
  p.y.v[t * p.y_stride + i] = a / (1.0 + exp(-a)) * p.x.v[t * p.x_stride + p.n + i];
}
