#version 460
// y = W x like gemv_f16.comp, shaped for CPU drivers (lavapipe): every lane owns whole rows and
// all lanes walk the columns in lockstep, so no cross-lane reduction (and no barrier) is needed.
// A CPU driver turns each per-lane load into one scalar load per 32/64-bit component, so the
// number of loads is what costs: W and x are read as 64-bit words (4 halves / 2 floats each),
// 16 columns per loop step (fewer, fatter steps measured 25 % cheaper than 8), and each lane
// owns several rows so one x chunk serves ROWS_PER_LANE rows.
// On GPUs this access pattern is uncoalesced; kernel_variants.cpp picks it for CPU devices only.
// Needs cols % 16 == 0 (32-byte aligned rows); other shapes use gemv_f16.comp.
// Spec constants: 0 workgroup size, 1 rows per lane.
#include "common.glsl"
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint ROWS_PER_LANE = 1;

#if DESCRIPTORS
// Descriptor-bound twin: cheaper loads on lavapipe (docs/decisions.md D3). The host binds W and y
// as row slices within maxStorageBufferRange, so p.rows counts the rows of this slice.
layout(set = 0, binding = 0, std430) readonly buffer WBuf { u64vec4 w16[]; };
layout(set = 0, binding = 1, std430) readonly buffer XBuf { u64vec2 x4[]; };
layout(set = 0, binding = 2, std430) writeonly buffer YBuf { float y[]; };
layout(push_constant) uniform Params {
  uint rows;
  uint cols;
} p;
#define W16(i) w16[i]
#define X4(i) x4[i]
#define Y(i) y[i]
#else
layout(buffer_reference, std430, buffer_reference_align = 16) readonly buffer U64x2In { u64vec2 v[]; };
layout(buffer_reference, std430, buffer_reference_align = 32) readonly buffer U64x4In { u64vec4 v[]; };

layout(push_constant) uniform Params {
  U64x4In w;
  U64x2In x;
  F32Out y;
  uint rows;
  uint cols;
} p;
#define W16(i) p.w.v[i]
#define X4(i) p.x.v[i]
#define Y(i) p.y.v[i]
#endif

vec4 halves4(uint64_t q) {
  const uvec2 u = unpackUint2x32(q);
  return vec4(unpackHalf2x16(u.x), unpackHalf2x16(u.y));
}

vec4 floats4(u64vec2 q) { return vec4(uintBitsToFloat(unpackUint2x32(q.x)), uintBitsToFloat(unpackUint2x32(q.y))); }

void main() {
  const uint lanes = gl_WorkGroupSize.x;
  const uint first = flat_group_id() * lanes * ROWS_PER_LANE + gl_LocalInvocationID.x;
  float acc[ROWS_PER_LANE];
  uint row[ROWS_PER_LANE];
  for (uint r = 0; r < ROWS_PER_LANE; ++r) {
    acc[r] = 0.0;
    row[r] = min(first + r * lanes, p.rows - 1);  // clamp: loads stay in bounds, store is guarded
  }
  const uint chunks = p.cols / 16;
  for (uint c = 0; c < chunks; ++c) {  // chunks < 65535: see common.glsl
    const vec4 xa = floats4(X4(4 * c));
    const vec4 xb = floats4(X4(4 * c + 1));
    const vec4 xc = floats4(X4(4 * c + 2));
    const vec4 xd = floats4(X4(4 * c + 3));
    for (uint r = 0; r < ROWS_PER_LANE; ++r) {
      const u64vec4 q = W16(row[r] * chunks + c);
      acc[r] += dot(halves4(q.x), xa) + dot(halves4(q.y), xb) + dot(halves4(q.z), xc) + dot(halves4(q.w), xd);
    }
  }
  for (uint r = 0; r < ROWS_PER_LANE; ++r)
    if (first + r * lanes < p.rows) Y(first + r * lanes) = acc[r];
}
