#version 460
// Combines the splits of attention_split for one (row t, head h) per workgroup (flash-decoding):
// M = max_s m_s, w_s = exp(m_s - M), out = sum_s w_s o_s / sum_s w_s l_s. Only the splits that
// hold keys of row t (ceil((pos_t + 1) / split_len)) are read.
#include "common.glsl"
#include "step.glsl"

layout(local_size_x_id = 0) in;

layout(push_constant) uniform Params {
  F32In part;
  F32Out y;
  StepParams step;
  uint heads, dv, split_len, n_splits, records, max_context;
  uint out_stride;
} p;

void main() {
  const uint th = flat_group_id();
  const uint h = th % p.heads, t = th / p.heads;
  if (t >= p.step.n_tokens || th * p.n_splits >= p.records) return;
  const uint n_keys = min(step_pos(p.step, t) + 1, p.max_context);
  const uint used = min((n_keys + p.split_len - 1) / p.split_len, p.n_splits);
  const uint first = th * p.n_splits;
  float big = uintBitsToFloat(0xff800000u);
  for (uint s = 0; s < used; ++s) big = max(big, p.part.v[2 * (first + s)]);
  float denom = 0.0;
  for (uint s = 0; s < used; ++s) denom += exp(p.part.v[2 * (first + s)] - big) * p.part.v[2 * (first + s) + 1];
  const float inv = 1.0 / denom;
  const uint o_base = 2 * p.records;
  for (uint d = gl_LocalInvocationID.x; d < p.dv; d += gl_WorkGroupSize.x) {
    float o = 0.0;
    for (uint s = 0; s < used; ++s) o += exp(p.part.v[2 * (first + s)] - big) * p.part.v[o_base + (first + s) * p.dv + d];
    p.y.v[t * p.out_stride + h * p.dv + d] = o * inv;
  }
}
