#version 460
// In-place rotary embedding of `pairs` pairs at `offset` of every head of row t (position
// StepParams row t's position): interleaved pairs (x[2i], x[2i+1]) or NeoX halves (x[i], x[i + pairs]). cos/sin
// (magnitude applied) come from the executor's table, entry [pos][i]. One invocation per pair.
#include "common.glsl"
#include "step.glsl"

layout(local_size_x_id = 0) in;

layout(push_constant) uniform Params {
  F32Out x;
  Vec2In table;
  StepParams step;
  uint x_stride;
  uint heads;
  uint head_stride;
  uint offset;
  uint pairs;
  uint interleaved;
  uint groups_per_row;
  uint max_context;
} p;

void main() {
  const uint g = flat_group_id();
  const uint t = g / p.groups_per_row;
  const uint j = (g % p.groups_per_row) * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
  if (t >= p.step.n_tokens || j >= p.heads * p.pairs) return;
  const uint pos = step_pos(p.step, t);
  if (pos >= p.max_context) return;  // the executor reports a full context; this only guards memory
  const uint h = j / p.pairs, i = j % p.pairs;
  const uint base = t * p.x_stride + h * p.head_stride + p.offset;
  const uint a = p.interleaved != 0 ? base + 2 * i : base + i;
  const uint b = p.interleaved != 0 ? base + 2 * i + 1 : base + i + p.pairs;
  const vec2 cs = p.table.v[pos * p.pairs + i];
  const float xa = p.x.v[a], xb = p.x.v[b];
  p.x.v[a] = xa * cs.x - xb * cs.y;
  p.x.v[b] = xa * cs.y + xb * cs.x;
}
