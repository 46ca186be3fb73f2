#version 460
// dst = src, 16 bytes per invocation step: measures the device's achievable copy bandwidth,
// the yardstick the GEMV benchmark reports its fraction of.
#include "common.glsl"

layout(local_size_x_id = 0) in;

layout(push_constant) uniform Params {
  U32x4In src;
  U32x4Out dst;
  uint n_vec4;
} p;

void main() {
  const uint stride = gl_NumWorkGroups.x * gl_NumWorkGroups.y * gl_WorkGroupSize.x;
  for (uint i = flat_group_id() * gl_WorkGroupSize.x + gl_LocalInvocationID.x; i < p.n_vec4; i += stride)
    p.dst.v[i] = p.src.v[i];
}
