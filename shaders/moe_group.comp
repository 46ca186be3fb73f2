#version 460
// Groups the n_tokens * top_k (token, expert) jobs of a prefill chunk by expert, for the grouped
// expert GEMMs (linear.comp MOE 3/4): counts per expert, exclusive prefix sum, then job indices
// in expert order (stable). A single invocation: the job count is small (host keeps every loop
// below 65535 iterations) and it avoids atomics. Layout of `groups`: offsets[experts + 1], list
// [jobs], cursor[experts]. Jobs with an id outside [0, experts) are left out.
#include "common.glsl"
#include "step.glsl"

layout(local_size_x = 1) in;

layout(buffer_reference, std430, buffer_reference_align = 4) buffer U32Out { uint v[]; };

layout(push_constant) uniform Params {
  U32In ids;
  U32Out groups;
  StepParams step;
  uint experts;
  uint top_k;
  uint ids_stride;
  uint max_jobs;
} p;

void main() {
  const uint jobs = p.step.n_tokens * p.top_k;
  const uint E = p.experts;
  for (uint e = 0; e <= E; ++e) p.groups.v[e] = 0;
  for (uint j = 0; j < jobs; ++j) {
    const uint e = p.ids.v[(j / p.top_k) * p.ids_stride + j % p.top_k];
    if (e < E) p.groups.v[e + 1] += 1;
  }
  for (uint e = 0; e < E; ++e) {
    p.groups.v[e + 1] += p.groups.v[e];
    p.groups.v[E + 1 + p.max_jobs + e] = p.groups.v[e];  // cursor
  }
  for (uint j = 0; j < jobs; ++j) {
    const uint e = p.ids.v[(j / p.top_k) * p.ids_stride + j % p.top_k];
    if (e >= E) continue;
    const uint slot = p.groups.v[E + 1 + p.max_jobs + e];
    p.groups.v[E + 1 + p.max_jobs + e] = slot + 1;
    p.groups.v[E + 1 + slot] = j;
  }
}
