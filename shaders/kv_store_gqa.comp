#version 460
// GQA cache row of token t: cache[pos0 + t, i] = f16(kv[t, i]) (K then V); one invocation per value.
#include "common.glsl"
#include "step.glsl"
#include "rows_common.glsl"

layout(local_size_x_id = 0) in;

layout(push_constant) uniform Params {
  F32In kv;
  F16Out cache;
  StepParams step;
  uint kv_stride;
  uint width;
  uint groups_per_row;
  uint max_context;
} p;

void main() {
  const uint g = flat_group_id();
  const uint t = g / p.groups_per_row;
  const uint i = (g % p.groups_per_row) * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
  if (t >= p.step.n_tokens || i >= p.width) return;
  const uint pos = p.step.pos0 + t;
  if (pos >= p.max_context) return;
  p.cache.v[pos * p.width + i] = float16_t(p.kv.v[t * p.kv_stride + i]);
}
