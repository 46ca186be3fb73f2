#version 460
// One split of causal attention over an f16 cache, for one (row t, head h, split s) per
// workgroup; shared by MLA (absorbed: query [q_lat | q_pe] against cache [latent | k_pe], value =
// latent) and GQA (query q against K of kv head h / group, value = V of that kv head).
//   score_j = scale * (qa . cache[j, ka : ka+na] + qb . cache[j, kb : kb+nb]),  j <= pos0 + t
// Keys are walked in tiles of one key per invocation with an online softmax (running max m, sum
// l, output o). With several splits the kernel writes (m, l, o) per split for attention_merge;
// with one split (DIRECT) it writes o / l to the output. The split length keeps every
// invocation's loop trips under lavapipe's 65535 (chosen by the host).
// Spec constants: 0 workgroup size (= keys per tile), 1 VEC4 (rows read as 4 halves per load),
// 2 OWN (4-value output groups (VEC4) or single values each invocation owns), 3 QMAX (na + nb
// rounded up to 4), 4 DIRECT.
#include "common.glsl"
#include "step.glsl"
#include "rows_common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint VEC4 = 0;
layout(constant_id = 2) const uint OWN = 1;
layout(constant_id = 3) const uint QMAX = 4;
layout(constant_id = 4) const uint DIRECT = 0;

layout(push_constant) uniform Params {
  F32In qa;
  F32In qb;
  F16In cache;
  F32Out part;  // DIRECT: the output [T, heads * dv]; else the split scratch
  StepParams step;
  uint qa_stride, qa_head;            // query part a: row stride, per-head stride
  uint qb_stride, qb_head, qb_off;    // query part b (nb == 0: unused)
  uint na, nb;
  uint kb_off;                        // cache column of key part b (key part a is at kv head offset)
  uint v_off, dv;                     // value columns (plus the kv head offset)
  uint width, max_context;
  uint heads, group, kv_head_stride;  // kv head = h / group; its columns start at kvh * kv_head_stride
  uint split_len, n_splits;
  float scale;
  uint out_stride;
  uint records;  // max_tokens * heads * n_splits: the scratch holds 2 stats, then dv values per record
} p;

shared float q_sh[QMAX];
shared float s_sh[gl_WorkGroupSize.x];
shared float p_sh[gl_WorkGroupSize.x];

#define NEG_INF uintBitsToFloat(0xff800000u)

void main() {
  const uint WG = gl_WorkGroupSize.x, lid = gl_LocalInvocationID.x;
  const uint g = flat_group_id();
  if (g >= p.records) return;  // grid padding
  const uint s = g % p.n_splits, th = g / p.n_splits;
  const uint h = th % p.heads, t = th / p.heads;
  if (t >= p.step.n_tokens) return;  // uniform per workgroup
  const uint n_keys = min(p.step.pos0 + t + 1, p.max_context);
  const uint k_begin = s * p.split_len;
  const uint k_end = min(n_keys, k_begin + p.split_len);
  const uint rec = th * p.n_splits + s;  // this split's record in the scratch
  const uint stats_base = 0, o_base = 2 * p.records;
  if (k_begin >= k_end) {  // past the causal end: an empty split for the merge
    if (DIRECT == 0 && lid == 0) {
      p.part.v[stats_base + 2 * rec] = NEG_INF;
      p.part.v[stats_base + 2 * rec + 1] = 0.0;
    }
    return;
  }
  for (uint i = lid; i < p.na; i += WG) q_sh[i] = p.qa.v[t * p.qa_stride + h * p.qa_head + i];
  for (uint i = lid; i < p.nb; i += WG) q_sh[p.na + i] = p.qb.v[t * p.qb_stride + h * p.qb_head + p.qb_off + i];
  barrier();

  const uint kvh = h / p.group;
  const uint ka = kvh * p.kv_head_stride, vo = p.v_off + kvh * p.kv_head_stride;
  U32x2In cache4 = U32x2In(p.cache);
  float m = NEG_INF, l = 0.0;
  vec4 acc[OWN];
  for (uint k = 0; k < OWN; ++k) acc[k] = vec4(0.0);

  for (uint tile = k_begin; tile < k_end; tile += WG) {
    const uint j = tile + lid;
    float score = NEG_INF;
    if (j < k_end) {
      const uint row = j * p.width;
      float dot_sum = 0.0;
      if (VEC4 != 0) {
        const uint ra = (row + ka) / 4, rb = (row + p.kb_off) / 4;
        for (uint i = 0; i < p.na / 4; ++i)
          dot_sum += dot(vec4(q_sh[4 * i], q_sh[4 * i + 1], q_sh[4 * i + 2], q_sh[4 * i + 3]), halves4(cache4.v[ra + i]));
        for (uint i = 0; i < p.nb / 4; ++i) {
          const uint q = p.na + 4 * i;
          dot_sum += dot(vec4(q_sh[q], q_sh[q + 1], q_sh[q + 2], q_sh[q + 3]), halves4(cache4.v[rb + i]));
        }
      } else {
        for (uint i = 0; i < p.na; ++i) dot_sum += q_sh[i] * float(p.cache.v[row + ka + i]);
        for (uint i = 0; i < p.nb; ++i) dot_sum += q_sh[p.na + i] * float(p.cache.v[row + p.kb_off + i]);
      }
      score = dot_sum * p.scale;
    }
    s_sh[lid] = score;
    barrier();
    const uint n_tile = min(WG, k_end - tile);
    float tile_max = NEG_INF;
    for (uint jj = 0; jj < n_tile; ++jj) tile_max = max(tile_max, s_sh[jj]);
    const float m_new = max(m, tile_max);
    const float alpha = exp(m - m_new);  // 0 on the first tile (m = -inf)
    p_sh[lid] = j < k_end ? exp(score - m_new) : 0.0;
    barrier();
    l *= alpha;
    for (uint k = 0; k < OWN; ++k) acc[k] *= alpha;
    for (uint jj = 0; jj < n_tile; ++jj) {
      const float pj = p_sh[jj];
      l += pj;
      const uint row = (tile + jj) * p.width + vo;
      for (uint k = 0; k < OWN; ++k) {
        const uint gi = lid + k * WG;
        if (VEC4 != 0) {
          if (4 * gi < p.dv) acc[k] += pj * halves4(cache4.v[row / 4 + gi]);
        } else {
          if (gi < p.dv) acc[k].x += pj * float(p.cache.v[row + gi]);
        }
      }
    }
    m = m_new;
  }

  if (DIRECT != 0) {
    const float inv_l = 1.0 / l;
    const uint ob = t * p.out_stride + h * p.dv;
    for (uint k = 0; k < OWN; ++k) {
      const uint gi = lid + k * WG;
      if (VEC4 != 0) {
        if (4 * gi < p.dv)
          for (uint c = 0; c < 4; ++c) p.part.v[ob + 4 * gi + c] = acc[k][c] * inv_l;
      } else if (gi < p.dv) {
        p.part.v[ob + gi] = acc[k].x * inv_l;
      }
    }
    return;
  }
  if (lid == 0) {
    p.part.v[stats_base + 2 * rec] = m;
    p.part.v[stats_base + 2 * rec + 1] = l;
  }
  const uint ob = o_base + rec * p.dv;
  for (uint k = 0; k < OWN; ++k) {
    const uint gi = lid + k * WG;
    if (VEC4 != 0) {
      if (4 * gi < p.dv)
        for (uint c = 0; c < 4; ++c) p.part.v[ob + 4 * gi + c] = acc[k][c];
    } else if (gi < p.dv) {
      p.part.v[ob + gi] = acc[k].x;
    }
  }
}
