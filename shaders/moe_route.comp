#version 460
// MoE routing of row t (one workgroup per row), exactly as tests/reference/reference_moe.cpp
// route(): scores = sigmoid or softmax of the logits; selection on scores + correction bias;
// group-limited (group score = max, or sum of the top 2) keeping topk_group groups; top-k with
// ties to the lower index; weights = unbiased scores, optionally normalised, then scaled.
// Scores are computed in parallel; the selection (a few thousand steps for 256 experts) runs
// on invocation 0 over shared memory. With has_counters, every chosen expert's use counter is
// incremented (atomically: rows run in parallel workgroups).
#include "common.glsl"
#include "step.glsl"

layout(local_size_x_id = 0) in;

layout(buffer_reference, std430, buffer_reference_align = 4) buffer I32Out { int v[]; };
layout(buffer_reference, std430, buffer_reference_align = 4) buffer U32Counters { uint v[]; };

layout(push_constant) uniform Params {
  F32In logits;
  F32In bias;  // valid when has_bias
  I32Out ids;
  F32Out weights;
  StepParams step;
  U32Counters counters;  // valid when has_counters
  uint logit_stride, ids_stride, w_stride;
  uint experts, top_k, n_group, topk_group;
  uint sigmoid, group_score, normalize, has_bias, has_counters;
  float scaling;
} p;

const uint MAX_EXPERTS = 1024;  // checked on the host
const uint MAX_GROUPS = 64;
#define NEG_INF uintBitsToFloat(0xff800000u)

shared float score_sh[MAX_EXPERTS];
shared float sel_sh[MAX_EXPERTS];
shared float group_sh[MAX_GROUPS];
shared uint taken_sh[MAX_EXPERTS];


void main() {
  const uint t = flat_group_id();
  if (t >= p.step.n_tokens) return;
  const uint lid = gl_LocalInvocationID.x, E = p.experts;
  for (uint e = lid; e < E; e += gl_WorkGroupSize.x) {
    const float x = p.logits.v[t * p.logit_stride + e];
    score_sh[e] = p.sigmoid != 0 ? 1.0 / (1.0 + exp(-x)) : x;
  }
  barrier();
  if (lid != 0) return;  // no barrier below

  if (p.sigmoid == 0) {
    float mx = score_sh[0];
    for (uint e = 1; e < E; ++e) mx = max(mx, score_sh[e]);
    float sum = 0.0;
    for (uint e = 0; e < E; ++e) {
      score_sh[e] = exp(score_sh[e] - mx);
      sum += score_sh[e];
    }
    for (uint e = 0; e < E; ++e) score_sh[e] /= sum;
  }
  for (uint e = 0; e < E; ++e) sel_sh[e] = score_sh[e] + (p.has_bias != 0 ? p.bias.v[e] : 0.0);

  if (p.n_group > 1 && p.group_score != 0) {
    const uint per = E / p.n_group;
    for (uint g = 0; g < p.n_group; ++g) {
      // The two largest member values (a repeated value counts twice, as in the reference).
      float best = NEG_INF, second = NEG_INF;
      for (uint i = 0; i < per; ++i) {
        const float v = sel_sh[g * per + i];
        if (v > best) {
          second = best;
          best = v;
        } else if (v > second) {
          second = v;
        }
      }
      group_sh[g] = p.group_score == 2 ? (per >= 2 ? best + second : best) : best;
    }
    // Keep the topk_group best groups (ties to the lower group): bit g of `kept`.
    uint kept_lo = 0, kept_hi = 0;
    for (uint r = 0; r < min(p.topk_group, p.n_group); ++r) {
      uint bg = 0xffffffffu;
      for (uint g = 0; g < p.n_group; ++g) {
        const bool taken = g < 32 ? ((kept_lo >> g) & 1u) != 0 : ((kept_hi >> (g - 32)) & 1u) != 0;
        if (!taken && (bg == 0xffffffffu || group_sh[g] > group_sh[bg])) bg = g;
      }
      if (bg < 32) kept_lo |= 1u << bg;
      else kept_hi |= 1u << (bg - 32);
    }
    for (uint e = 0; e < E; ++e) {
      const uint g = e / per;
      const bool keep = g < 32 ? ((kept_lo >> g) & 1u) != 0 : ((kept_hi >> (g - 32)) & 1u) != 0;
      if (!keep) sel_sh[e] = NEG_INF;
    }
  }

  // Top-k by repeated selection (strict > keeps the lower index on ties); the k-th choice is
  // written at once, the weights are rescaled afterwards when normalising.
  for (uint e = 0; e < E; ++e) taken_sh[e] = 0;
  float wsum = 0.0;
  for (uint k = 0; k < p.top_k; ++k) {
    uint be = 0xffffffffu;
    for (uint e = 0; e < E; ++e)
      if (taken_sh[e] == 0 && (be == 0xffffffffu || sel_sh[e] > sel_sh[be])) be = e;
    taken_sh[be] = 1;
    wsum += score_sh[be];
    p.ids.v[t * p.ids_stride + k] = int(be);
    p.weights.v[t * p.w_stride + k] = score_sh[be];
    if (p.has_counters != 0) atomicAdd(p.counters.v[be], 1u);
  }
  for (uint k = 0; k < p.top_k; ++k) {
    float wk = p.weights.v[t * p.w_stride + k];
    if (p.normalize != 0) wk = wk / (wsum + 1e-20);
    p.weights.v[t * p.w_stride + k] = wk * p.scaling;
  }
}
