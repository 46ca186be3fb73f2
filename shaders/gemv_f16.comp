#version 460
// y[r] = sum_c W[r, c] * x[c]; W row-major [rows, cols] f16, x and y f32.
//
// Shape (kept for the q8/q4/fp8 GEMVs that follow): each workgroup owns ROWS consecutive rows;
// its lanes stride over the columns in chunks of VEC weights, load one x chunk and reuse it for
// all ROWS rows (x is read once per workgroup, W once in total), accumulate in f32, then
// reduce each row with workgroup_sum. Only the chunk decode differs per weight format.
// VEC (spec constant 2) is 8 (uvec4 = 8 halves, needs cols % 8 == 0), 2 (cols % 2 == 0) or 1.
#include "common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint ROWS = 4;
layout(constant_id = 2) const uint VEC = 8;
#include "reduce.glsl"

layout(push_constant) uniform Params {
  F16In w;
  F32In x;
  F32Out y;
  uint rows;
  uint cols;
} p;

vec4 halves_lo(uvec4 q) { return vec4(unpackHalf2x16(q.x), unpackHalf2x16(q.y)); }
vec4 halves_hi(uvec4 q) { return vec4(unpackHalf2x16(q.z), unpackHalf2x16(q.w)); }

void main() {
  const uint row0 = flat_group_id() * ROWS;
  if (row0 >= p.rows) return;  // uniform per workgroup
  const uint lid = gl_LocalInvocationID.x;
  const uint step = gl_WorkGroupSize.x;
  float acc[ROWS];
  for (uint r = 0; r < ROWS; ++r) acc[r] = 0.0;

  if (VEC == 8) {
    U32x4In w4 = U32x4In(p.w);
    Vec4In x4 = Vec4In(p.x);
    const uint chunks = p.cols / 8;
    for (uint c = lid; c < chunks; c += step) {
      const vec4 xa = x4.v[2 * c];
      const vec4 xb = x4.v[2 * c + 1];
      for (uint r = 0; r < ROWS; ++r) {
        const uint row = min(row0 + r, p.rows - 1);  // clamp instead of branching; store is guarded
        const uvec4 q = w4.v[row * chunks + c];
        acc[r] += dot(halves_lo(q), xa) + dot(halves_hi(q), xb);
      }
    }
  } else if (VEC == 2) {
    U32In w2 = U32In(p.w);
    Vec2In x2 = Vec2In(p.x);
    const uint chunks = p.cols / 2;
    for (uint c = lid; c < chunks; c += step) {
      const vec2 xv = x2.v[c];
      for (uint r = 0; r < ROWS; ++r) {
        const uint row = min(row0 + r, p.rows - 1);
        acc[r] += dot(unpackHalf2x16(w2.v[row * chunks + c]), xv);
      }
    }
  } else {
    for (uint c = lid; c < p.cols; c += step) {
      const float xv = p.x.v[c];
      for (uint r = 0; r < ROWS; ++r) {
        const uint row = min(row0 + r, p.rows - 1);
        acc[r] = fma(float(p.w.v[row * p.cols + c]), xv, acc[r]);
      }
    }
  }

  for (uint r = 0; r < ROWS; ++r) {
    const float total = workgroup_sum(acc[r]);
    if (lid == 0 && row0 + r < p.rows) p.y.v[row0 + r] = total;
  }
}
