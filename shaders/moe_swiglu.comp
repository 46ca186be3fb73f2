#version 460
// MoE intermediate: act[s, i] = silu(gu[s, i]) * gu[s, width + i] for the n_tokens * top_k
// (token, expert) jobs of this step; gu rows are 2 * width wide, act rows width.
#include "common.glsl"
#include "step.glsl"

layout(local_size_x_id = 0) in;

layout(push_constant) uniform Params {
  F32In gu;
  F32Out act;
  StepParams step;
  uint width;
  uint top_k;
} p;

void main() {
  const uint s = gl_WorkGroupID.z;
  if (s >= p.step.n_tokens * p.top_k) return;
  for (uint i = gl_LocalInvocationID.x; i < p.width; i += gl_WorkGroupSize.x) {
    const float g = p.gu.v[s * 2 * p.width + i];
    const float u = p.gu.v[s * 2 * p.width + p.width + i];
    p.act.v[s * p.width + i] = g / (1.0 + exp(-g)) * u;
  }
}
