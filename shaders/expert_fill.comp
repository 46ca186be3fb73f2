#version 460
// In-step expert cache fill, part 2 (docs/offload.md, "In-step copies"): copies the experts
// expert_claim.comp claimed for this op, host memory -> their slots. Workgroup g copies a
// share of job g / groups_per_job (groups past job_count return). 32-byte words: every part
// starts 256-byte aligned at both ends and its room is padded to 256 bytes, so rounding a
// part's size up to 32 stays inside it.
#include "common.glsl"
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require

layout(local_size_x_id = 0) in;

struct FillDesc {
  uint64_t src[4];
  uint size[4];
  uint dst_offset[4];
  uint unit;
  uint pad0, pad1, pad2;
};
layout(buffer_reference, std430, buffer_reference_align = 16) readonly buffer Descs { FillDesc d[]; };
layout(buffer_reference, std430, buffer_reference_align = 16) readonly buffer State {
  uint head, tail, log_count, cap;
  uint job_count, pad0, pad1, pad2;
};
layout(buffer_reference, std430, buffer_reference_align = 16) readonly buffer Jobs { uvec4 e[]; };
layout(buffer_reference, std430, buffer_reference_align = 32) readonly buffer Src { u64vec4 v[]; };
layout(buffer_reference, std430, buffer_reference_align = 32) writeonly buffer Dst { u64vec4 v[]; };

layout(push_constant) uniform Params {
  Descs descs;  // this op's descriptors, by expert
  State state;
  Jobs jobs;
  uint groups_per_job;
} p;

void main() {
  const uint g = flat_group_id(), job = g / p.groups_per_job;
  if (job >= p.state.job_count) return;
  const uvec4 j = p.jobs.e[job];
  const FillDesc d = p.descs.d[j.x];
  const uint64_t base = packUint2x32(j.zw);
  const uint stride = p.groups_per_job * gl_WorkGroupSize.x;
  const uint first = (g % p.groups_per_job) * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
  for (uint k = 0; k < 4; ++k) {
    const uint words = (d.size[k] + 31) / 32;
    if (words == 0) continue;
    Src src = Src(d.src[k]);
    Dst dst = Dst(base + uint64_t(d.dst_offset[k]));
    for (uint i = first; i < words; i += stride) dst.v[i] = src.v[i];
  }
}
