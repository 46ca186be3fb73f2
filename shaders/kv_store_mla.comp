#version 460
// MLA cache row of token t (position pos of sequence slot seq, both from StepParams), one
// workgroup per row; the block table maps (seq, pos) to a pool row r:
// cache[r, :c] = f16(rmsnorm(kv[t, :c]) * weight), cache[r, c:c+dr] = f16(rope_interleaved(kv[t, c:c+dr])).
#include "common.glsl"
#include "step.glsl"
#include "rows_common.glsl"

layout(local_size_x_id = 0) in;
#include "reduce.glsl"

layout(push_constant) uniform Params {
  F32In kv;
  F32In weight;
  Vec2In table;
  F16Out cache;
  StepParams step;
  uint kv_stride;
  uint c;
  uint pairs;  // rope_dim / 2
  uint width;
  uint max_context;
  uint block_tokens;
  uint pool_rows;
  float eps;
} p;

void main() {
  const uint t = flat_group_id();
  if (t >= p.step.n_tokens) return;  // uniform per workgroup
  const uint pos = step_pos(p.step, t);
  if (pos >= p.max_context) return;
  const uint r = step_cache_row(p.step, step_seq(p.step, t), pos, p.block_tokens);
  if (r >= p.pool_rows) return;  // guards memory only: the host builds the table
  const uint xb = t * p.kv_stride, cb = r * p.width;
  float sum_sq = 0.0;
  for (uint i = gl_LocalInvocationID.x; i < p.c; i += gl_WorkGroupSize.x) {
    const float v = p.kv.v[xb + i];
    sum_sq = fma(v, v, sum_sq);
  }
  const float scale = inversesqrt(workgroup_sum(sum_sq) / float(p.c) + p.eps);
  for (uint i = gl_LocalInvocationID.x; i < p.c; i += gl_WorkGroupSize.x)
    p.cache.v[cb + i] = float16_t(p.kv.v[xb + i] * scale * p.weight.v[i]);
  for (uint i = gl_LocalInvocationID.x; i < p.pairs; i += gl_WorkGroupSize.x) {
    const vec2 cs = p.table.v[pos * p.pairs + i];
    const float xa = p.kv.v[xb + p.c + 2 * i], xb2 = p.kv.v[xb + p.c + 2 * i + 1];
    p.cache.v[cb + p.c + 2 * i] = float16_t(xa * cs.x - xb2 * cs.y);
    p.cache.v[cb + p.c + 2 * i + 1] = float16_t(xa * cs.y + xb2 * cs.x);
  }
}
