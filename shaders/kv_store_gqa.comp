#version 460
// GQA cache row of token t: cache[r, i] = f16(kv[t, i]) (K then V), r the pool row of the row's
// (sequence slot, position) through the block table; one invocation per value.
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
  uint block_tokens;
  uint pool_rows;
} p;

void main() {
  const uint g = flat_group_id();
  const uint t = g / p.groups_per_row;
  const uint i = (g % p.groups_per_row) * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
  if (t >= p.step.n_tokens || i >= p.width) return;
  const uint pos = step_pos(p.step, t);
  if (pos >= p.max_context) return;
  const uint r = step_cache_row(p.step, step_seq(p.step, t), pos, p.block_tokens);
  if (r >= p.pool_rows) return;  // guards memory only: the host builds the table
  p.cache.v[r * p.width + i] = float16_t(p.kv.v[t * p.kv_stride + i]);
}
