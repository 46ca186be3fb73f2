#version 460
// dst = src, 32 bytes per invocation step: measures the device's achievable copy bandwidth,
// the yardstick the GEMV benchmark reports its fraction of. 64-bit words, because CPU drivers
// pay per 32/64-bit component of a per-lane load or store.
#include "common.glsl"
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require

layout(buffer_reference, std430, buffer_reference_align = 32) readonly buffer Src { u64vec4 v[]; };
layout(buffer_reference, std430, buffer_reference_align = 32) writeonly buffer Dst { u64vec4 v[]; };

layout(local_size_x_id = 0) in;

layout(push_constant) uniform Params {
  Src src;
  Dst dst;
  uint n_chunks;  // 32-byte chunks
} p;

void main() {
  const uint stride = gl_NumWorkGroups.x * gl_NumWorkGroups.y * gl_WorkGroupSize.x;
  for (uint i = flat_group_id() * gl_WorkGroupSize.x + gl_LocalInvocationID.x; i < p.n_chunks; i += stride)
    p.dst.v[i] = p.src.v[i];
}
