#version 460
// out[t, :] += sum_k ydown[t * top_k + k, :] over the jobs whose expert id is valid (their rows
// were written, already scaled by the routing weight, by the grouped down GEMM). One workgroup
// per token (grid z), lanes over the columns; summing in k order keeps it deterministic.
#include "common.glsl"
#include "step.glsl"

layout(local_size_x_id = 0) in;

layout(push_constant) uniform Params {
  F32In ydown;
  F32Out out_rows;
  U32In ids;
  StepParams step;
  uint hidden;
  uint top_k;
  uint experts;
  uint ids_stride;
  uint out_stride;
} p;

void main() {
  const uint t = gl_WorkGroupID.z;
  if (t >= p.step.n_tokens) return;
  for (uint i = gl_LocalInvocationID.x; i < p.hidden; i += gl_WorkGroupSize.x) {
    float s = p.out_rows.v[t * p.out_stride + i];
    for (uint k = 0; k < p.top_k; ++k)
      if (p.ids.v[t * p.ids_stride + k] < p.experts) s += p.ydown.v[(t * p.top_k + k) * p.hidden + i];
    p.out_rows.v[t * p.out_stride + i] = s;
  }
}
