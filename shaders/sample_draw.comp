#version 460
// Draws the next token of sample i (StepParams sample record i) from its logits row when its
// temperature > 0 (one workgroup per sample; greedy is sample_argmax's job). Definition (host mirror in the tests):
//   w_i = exp((l_i - max) / temperature); tokens ordered by (logit descending, index ascending);
//   top-k keeps the first k of that order (top_k = 0 or >= vocab: all);
//   top-p keeps, among those, the shortest prefix of that order whose mass reaches
//   top_p * (mass kept by top-k) (top_p >= 1: all);
//   the token is drawn from the kept w_i, renormalised, with u = hash(seed, rng_counter) in [0, 1).
// Both cuts are thresholds on a unique 64-bit key (order-preserving logit bits, inverted index),
// found by a 16-level radix descent with 4-bit digits: each level one parallel pass over the
// vocabulary builds count and mass histograms of the keys under the current prefix. The draw walks
// the vocabulary in index order (per-invocation chunks, a scan of chunk masses). Every
// invocation's loop trips stay far under 65535 (host-checked).
#include "common.glsl"
#include "step.glsl"
#include "rows_common.glsl"

layout(local_size_x_id = 0) in;  // a power of two >= 16

layout(push_constant) uniform Params {
  F32In logits;
  U32Out scratch;  // sample_argmax's, max_slot + 2 words per sample; the row max is at max_slot
  U32Out out_token;
  U32Out next_tokens;
  StepParams step;
  uint stride, vocab, max_slot, has_next;
} p;

shared float mass_sh[16 * gl_WorkGroupSize.x];
shared uint cnt_sh[16];
shared float part_sh[gl_WorkGroupSize.x];
shared uint state_sh[4];  // threshold hi, lo, done flag, chosen invocation / token

uint g_row;  // the sample's logits row offset

float logit(uint i) {
  const float x = p.logits.v[g_row + i];
  return isnan(x) ? uintBitsToFloat(0xff800000u) : x;
}
uint order_key(float v) {
  const uint u = floatBitsToUint(v);
  return (u & 0x80000000u) != 0 ? ~u : (u | 0x80000000u);
}
bool key_ge(uint hi, uint lo, uint khi, uint klo) { return hi > khi || (hi == khi && lo >= klo); }
bool prefix_match(uint hi, uint lo, uint phi, uint plo, uint level) {
  if (level == 0) return true;
  if (level <= 8) return (hi >> (32 - 4 * level)) == (phi >> (32 - 4 * level));
  if (hi != phi) return false;
  return (lo >> (32 - 4 * (level - 8))) == (plo >> (32 - 4 * (level - 8)));
}
uint digit(uint hi, uint lo, uint level) { return level < 8 ? (hi >> (28 - 4 * level)) & 15u : (lo >> (28 - 4 * (level - 8))) & 15u; }

uint pcg_hash(uint v) {
  const uint state = v * 747796405u + 2891336453u;
  const uint word = ((state >> ((state >> 28u) + 4u)) ^ state) * 277803737u;
  return (word >> 22u) ^ word;
}

// Threshold key K with {key >= K} = the cut, among keys >= (fhi, flo). by_mass: the shortest
// prefix (in key order) with mass >= target; else the first `target` keys.
uvec2 select_threshold(bool by_mass, float target, uint fhi, uint flo, float mx, float inv_t) {
  const uint lid = gl_LocalInvocationID.x, WG = gl_WorkGroupSize.x;
  if (lid == 0) {
    state_sh[0] = 0;
    state_sh[1] = 0;
    state_sh[2] = 0;
  }
  float above = 0.0;  // count or mass of keys above the current prefix range (invocation 0)
  for (uint level = 0; level < 16; ++level) {
    if (lid < 16) cnt_sh[lid] = 0;
    barrier();
    const uint phi = state_sh[0], plo = state_sh[1];
    float bins[16];
    for (uint b = 0; b < 16; ++b) bins[b] = 0.0;
    for (uint i = lid; i < p.vocab; i += WG) {
      const float l = logit(i);
      const uint hi = order_key(l), lo = ~i;
      if (!key_ge(hi, lo, fhi, flo) || !prefix_match(hi, lo, phi, plo, level)) continue;
      const uint d = digit(hi, lo, level);
      atomicAdd(cnt_sh[d], 1u);
      if (by_mass) bins[d] += exp((l - mx) * inv_t);
    }
    for (uint b = 0; b < 16; ++b) mass_sh[b * WG + lid] = bins[b];
    barrier();
    if (lid < 16 && by_mass) {
      float s = 0.0;
      for (uint q = 0; q < WG; ++q) s += mass_sh[lid * WG + q];
      mass_sh[lid * WG] = s;  // only invocation lid reads or writes row lid here
    }
    barrier();
    if (lid == 0) {
      uint chosen = 16, lowest = 16;
      for (int b = 15; b >= 0; --b) {
        const uint n = cnt_sh[b];
        if (n == 0) continue;
        lowest = uint(b);
        const float here = by_mass ? mass_sh[uint(b) * WG] : float(n);
        if (above + here >= target) {
          chosen = uint(b);
          break;
        }
        above += here;
      }
      bool done = false;
      if (chosen == 16) {  // rounding left the target out of reach: keep everything left
        chosen = lowest;
        done = true;
      }
      if (level < 8) state_sh[0] |= chosen << (28 - 4 * level);
      else state_sh[1] |= chosen << (28 - 4 * (level - 8));
      const float here = by_mass ? mass_sh[chosen * WG] : float(cnt_sh[chosen]);
      if (cnt_sh[chosen] == 1 || (!by_mass && above + here == target)) done = true;
      state_sh[2] = done ? 1u : 0u;
    }
    barrier();
    if (state_sh[2] != 0) break;
  }
  const uvec2 k = uvec2(state_sh[0], state_sh[1]);
  barrier();  // state_sh is reused by the next call
  return k;
}

void main() {
  const uint lid = gl_LocalInvocationID.x, WG = gl_WorkGroupSize.x;
  const uint si = flat_group_id();
  if (si >= p.step.n_samples) return;  // uniform per workgroup
  const float temperature = step_sample_f(p.step, si, 2);
  if (temperature <= 0.0) return;  // greedy: written by sample_argmax
  g_row = step_sample_u(p.step, si, 0) * p.stride;
  const uint top_k = step_sample_u(p.step, si, 4);
  const float top_p = step_sample_f(p.step, si, 3);
  const float mx = uintBitsToFloat(p.scratch.v[si * (p.max_slot + 2) + p.max_slot]);
  // Below 1/FLT_MAX, 1/T is +inf and exp(0 * inf) is NaN: such a temperature is greedy in all
  // but name, and a finite 1/T this large keeps it so (every other weight underflows to 0).
  const float inv_t = temperature < 1e-30 ? 1e30 : 1.0 / temperature;
  uvec2 cut = uvec2(0u, 0u);  // every key is >= (0, 0)
  if (top_k > 0 && top_k < p.vocab) cut = select_threshold(false, float(top_k), 0u, 0u, mx, inv_t);
  if (top_p < 1.0) {
    float kept = 0.0;
    for (uint i = lid; i < p.vocab; i += WG) {
      const float l = logit(i);
      if (key_ge(order_key(l), ~i, cut.x, cut.y)) kept += exp((l - mx) * inv_t);
    }
    part_sh[lid] = kept;
    barrier();
    if (lid == 0) {
      float s = 0.0;
      for (uint q = 0; q < WG; ++q) s += part_sh[q];
      part_sh[0] = s;
    }
    barrier();
    const float target = top_p * part_sh[0];
    barrier();
    const uvec2 top_k_cut = cut;
    cut = select_threshold(true, target, cut.x, cut.y, mx, inv_t);
    // The descent may stop at a digit prefix whose lower digits are zero: a key below the top-k
    // cut whose keys it counted, which would let in every token sharing that prefix. Top-p only
    // narrows the top-k set, so the cut is the larger of the two.
    if (!key_ge(cut.x, cut.y, top_k_cut.x, top_k_cut.y)) cut = top_k_cut;
  }

  // Draw in index order: invocation q owns [q * chunk, (q + 1) * chunk).
  const uint chunk = (p.vocab + WG - 1) / WG;
  const uint begin = min(p.vocab, lid * chunk), end = min(p.vocab, begin + chunk);
  float mine = 0.0;
  for (uint i = begin; i < end; ++i) {
    const float l = logit(i);
    if (key_ge(order_key(l), ~i, cut.x, cut.y)) mine += exp((l - mx) * inv_t);
  }
  part_sh[lid] = mine;
  barrier();
  if (lid == 0) {
    float total = 0.0;
    for (uint q = 0; q < WG; ++q) total += part_sh[q];
    const uint h = pcg_hash(step_sample_u(p.step, si, 5) ^ pcg_hash(step_sample_u(p.step, si, 1) + 0x9e3779b9u));
    const float u = float(h >> 8) * (1.0 / 16777216.0);
    float target = u * total, before = 0.0;
    uint owner = 0xffffffffu, last = 0;
    for (uint q = 0; q < WG; ++q) {
      if (part_sh[q] <= 0.0) continue;
      last = q;
      if (owner == 0xffffffffu && before + part_sh[q] > target) owner = q;
      if (owner == 0xffffffffu) before += part_sh[q];
    }
    if (owner == 0xffffffffu) {  // rounding: target at the very end of the mass
      owner = last;
      before = total - part_sh[last];
    }
    state_sh[3] = owner;
    part_sh[0] = target - before;  // invocation 0 owns part_sh[0]; the owner reads it after the barrier
  }
  barrier();
  if (lid != state_sh[3]) return;
  const float residual = part_sh[0];
  float cum = 0.0;
  uint token = 0xffffffffu, last_kept = begin;
  for (uint i = begin; i < end; ++i) {
    const float l = logit(i);
    if (!key_ge(order_key(l), ~i, cut.x, cut.y)) continue;
    last_kept = i;
    cum += exp((l - mx) * inv_t);
    if (cum > residual) {
      token = i;
      break;
    }
  }
  if (token == 0xffffffffu) token = last_kept;
  p.out_token.v[si] = token;
  if (p.has_next != 0) p.next_tokens.v[step_sample_u(p.step, si, 0)] = token;  // by logits row
}
