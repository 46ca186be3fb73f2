#version 460
// out[t, :] = row ids[t] of a packed table, dequantised (any FORMAT, weight_decode.glsl). One
// workgroup per token (grid z); lanes stride over the columns. Zero row when the id is outside
// [0, rows) (guards memory only; ids are checked where they are produced) or when
// zero_at_position0 is set and the row's position is 0.
#include "common.glsl"
#include "step.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 3) const uint GROUP = 32;

#include "weight_decode.glsl"

layout(push_constant) uniform Params {
  uint64_t w_data;
  uint64_t w_scales;
  U32In ids;
  F32Out y;
  StepParams step;
  uint rows;
  uint cols;
  uint ids_stride;
  uint y_stride;
  uint zero_at_position0;
} p;

void main() {
  const uint t = gl_WorkGroupID.z;
  if (t >= p.step.n_tokens) return;
  const uint id = p.ids.v[t * p.ids_stride];
  const bool zero = id >= p.rows || (p.zero_at_position0 != 0 && step_pos(p.step, t) == 0);
  const WeightRef w = make_weight_ref(p.w_data, p.w_scales, p.cols, GROUP);
  for (uint c = gl_LocalInvocationID.x; c < p.cols; c += gl_WorkGroupSize.x)  // host: cols / WG < 65535
    p.y.v[t * p.y_stride + c] = zero ? 0.0 : weight_at(w, id, c, GROUP);
}
