#version 460
// Argmax of each sample's logits row (StepParams sample records), lowest index on ties, in two
// passes: PARTIAL (one workgroup per chunk of `chunk` logits, writes (value, index) pairs to the
// scratch) and FINAL (one workgroup over the pairs, writes the row max and argmax after them and,
// when sampling is greedy (temperature <= 0), the token). NaN logits count as -inf. SINGLE (a
// row of one chunk, groups == 1): one workgroup per sample reads the row as PARTIAL does and
// writes what both passes write (the pair, the row max and argmax, the greedy token), so a small
// vocabulary costs one dispatch instead of two.
#include "common.glsl"
#include "step.glsl"
#include "rows_common.glsl"

layout(local_size_x_id = 0) in;  // a power of two

layout(push_constant) uniform Params {
  F32In logits;
  U32Out scratch;  // per sample: [2 * groups] pairs, then [max bits, argmax]
  U32Out out_token;
  U32Out next_tokens;
  StepParams step;
  uint stride, vocab, chunk, groups, has_next;
} p;

shared float best_v[gl_WorkGroupSize.x];
shared uint best_i[gl_WorkGroupSize.x];

bool better(float v, uint i, float w, uint j) { return v > w || (v == w && i < j); }

void main() {
  const uint lid = gl_LocalInvocationID.x, WG = gl_WorkGroupSize.x;
  float v = uintBitsToFloat(0xff800000u);
  uint vi = 0xffffffffu;
#if defined(PARTIAL) || defined(SINGLE)
#ifdef SINGLE
  const uint si = flat_group_id(), g = 0;
#else
  const uint si = flat_group_id() / p.groups, g = flat_group_id() % p.groups;  // one grid row per sample
#endif
  if (si >= p.step.n_samples) return;
  const uint row = step_sample_u(p.step, si, 0) * p.stride;
  const uint end = min(p.vocab, (g + 1) * p.chunk);
  for (uint i = g * p.chunk + lid; i < end; i += WG) {
    float x = p.logits.v[row + i];
    if (isnan(x)) x = uintBitsToFloat(0xff800000u);
    if (vi == 0xffffffffu || x > v) {
      v = x;
      vi = i;
    }
  }
#else
  const uint si = flat_group_id();
  if (si >= p.step.n_samples) return;
  for (uint k = lid; k < p.groups; k += WG) {
    const float x = uintBitsToFloat(p.scratch.v[si * (2 * p.groups + 2) + 2 * k]);
    const uint xi = p.scratch.v[si * (2 * p.groups + 2) + 2 * k + 1];
    if (xi != 0xffffffffu && (vi == 0xffffffffu || better(x, xi, v, vi))) {
      v = x;
      vi = xi;
    }
  }
#endif
  best_v[lid] = v;
  best_i[lid] = vi;
  barrier();
  for (uint s = WG / 2; s > 0; s >>= 1) {
    if (lid < s) {
      const float w = best_v[lid + s];
      const uint wi = best_i[lid + s];
      if (wi != 0xffffffffu && (best_i[lid] == 0xffffffffu || better(w, wi, best_v[lid], best_i[lid]))) {
        best_v[lid] = w;
        best_i[lid] = wi;
      }
    }
    barrier();
  }
  if (lid != 0) return;
  const uint sb = si * (2 * p.groups + 2);  // this sample's scratch
#if defined(PARTIAL) || defined(SINGLE)
  p.scratch.v[sb + 2 * g] = floatBitsToUint(best_v[0]);
  p.scratch.v[sb + 2 * g + 1] = best_i[0];
#endif
#ifndef PARTIAL
  p.scratch.v[sb + 2 * p.groups] = floatBitsToUint(best_v[0]);
  p.scratch.v[sb + 2 * p.groups + 1] = best_i[0];
  if (step_sample_f(p.step, si, 2) <= 0.0) {
    const uint token = min(best_i[0], p.vocab - 1);  // all-NaN row: token 0 rather than garbage
    p.out_token.v[si] = best_i[0] == 0xffffffffu ? 0u : token;
    if (p.has_next != 0) p.next_tokens.v[step_sample_u(p.step, si, 0)] = best_i[0] == 0xffffffffu ? 0u : token;  // by row
  }
#endif
}
