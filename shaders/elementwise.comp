#version 460
// Elementwise binary ops over n f32 values, selected by the variant's OP define:
//   OP_ADD:    out = a + b                 (residual add)
//   OP_SWIGLU: out = silu(a) * b           (a = gate, b = up)
// `out` may alias `a` (in-place). Grid-stride loop: any n fits any dispatch size.
#include "common.glsl"

layout(local_size_x_id = 0) in;

layout(push_constant) uniform Params {
  F32In a;
  F32In b;
  F32Out out_;
  uint n;
} p;

float apply_op(float a, float b) {
#if defined(OP_ADD)
  return a + b;
#elif defined(OP_SWIGLU)
  return a / (1.0 + exp(-a)) * b;
#else
#error "elementwise.comp needs OP_ADD or OP_SWIGLU"
#endif
}

void main() {
  const uint stride = gl_NumWorkGroups.x * gl_NumWorkGroups.y * gl_WorkGroupSize.x;
  for (uint i = flat_group_id() * gl_WorkGroupSize.x + gl_LocalInvocationID.x; i < p.n; i += stride)
    p.out_.v[i] = apply_op(p.a.v[i], p.b.v[i]);
}
