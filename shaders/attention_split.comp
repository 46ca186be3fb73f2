#version 460
// One split of causal attention over an f16 cache, for one (row t, block of HB heads, split s)
// per workgroup; shared by MLA (absorbed: query [q_lat | q_pe] against cache [latent | k_pe],
// value = latent) and GQA (query q against K of kv head h / group, value = V of that kv head).
//   score_j = scale * (qa . cache[j, ka : ka+na] + qb . cache[j, kb : kb+nb]),  j <= pos_t
// Key j of row t is cache row table(seq_t, j) (step.glsl step_cache_row): each row attends over
// its own sequence's keys, so rows of different sequences and positions share a dispatch.
// The HB heads of a workgroup read the same kv head, so each cache value loaded serves HB heads
// (MLA: all heads share the latent cache). Keys are walked in tiles of KPL keys per invocation
// with an online softmax per head (running max m, sum l, output o). With several splits the
// kernel writes (m, l, o) per (row, head, split) for attention_merge; with one split (DIRECT) it
// writes o / l to the output. The split length keeps every invocation's loop trips under
// lavapipe's 65535 (chosen by the host).
// Spec constants: 0 workgroup size (= keys per tile), 1 VEC4 (rows read as 4 halves per load),
// 2 OWN (4-value output groups (VEC4) or single values each invocation owns), 3 QMAX (na + nb
// rounded up to 4), 4 DIRECT, 5 HB (heads per workgroup, dividing heads / kv heads), 6 KPL (keys
// per invocation in the score pass: a tile is KPL * workgroup size keys).
// Why KPL: lavapipe loads the shared query lane by lane (a gather, even at a uniform index), and
// those loads were ~40 % of the MLA time; KPL keys per invocation reuse each loaded query vec4.
// The host keeps the shared tiles within 16 KiB (the Vulkan minimum).
#include "common.glsl"
#ifdef CACHE_TEXELS
#extension GL_EXT_buffer_reference_uvec2 : require
#endif
#include "step.glsl"
#include "rows_common.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint VEC4 = 0;
layout(constant_id = 2) const uint OWN = 1;
layout(constant_id = 3) const uint QMAX = 4;
layout(constant_id = 4) const uint DIRECT = 0;
layout(constant_id = 5) const uint HB = 1;
layout(constant_id = 6) const uint KPL = 1;
layout(constant_id = 7) const uint Q_TEXELS = 0;  // CACHE_TEXELS: 1 = query parts from bindings 1, 2

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
  uint block_tokens, pool_rows;  // the paged cache: rows per block, rows in the pool
} p;

// Shared tiles as vec4s: CPU drivers may load shared memory lane by lane, so one vec4 load
// replaces four scalar ones. Scores and probabilities of a key are packed head-block-wise.
const uint HBV = (HB + 3) / 4;
shared vec4 q_sh4[HB * QMAX / 4];
// s_sh4 holds each invocation's maximum score over its KPL keys (the tile max reads WG entries,
// not TILE), p_sh4 the probabilities of every key of the tile.
const uint TILE = KPL * gl_WorkGroupSize.x;  // keys per tile
shared vec4 s_sh4[HBV * gl_WorkGroupSize.x];
shared vec4 p_sh4[HBV * TILE];

#define NEG_INF uintBitsToFloat(0xff800000u)

#ifdef CACHE_TEXELS
// The cache through a uniform texel buffer (CPU drivers with push descriptors): an
// R32G32B32A32_SFLOAT view of the cache's buffer whose texels are read as raw bits, 8 halves
// each; p.cache then holds the cache's first half within the view (a multiple of 8), not an
// address. On llvmpipe a texel fetch is one gather, where a device-address load is a loop over
// the lanes with a branch per lane (docs/runtime.md). The host takes this variant only when
// every key and value offset is a multiple of 8 halves (VEC4 rows).
layout(set = 0, binding = 0) uniform samplerBuffer cache_tex;
// With Q_TEXELS the query parts as texels too (bindings 1, 2: R32G32B32A32_SFLOAT views of qa's
// and qb's buffers; p.qa / p.qb hold their first element within the views, multiples of 4, as do
// every stride and offset): a uniform texel fetch is one gather where a shared-memory load is a
// loop over the lanes, and the score pass reads a query vec4 for every 4 keys of every head.
// Without it (query strides not multiples of 4) the queries go through shared memory as in the
// device-address kernel and bindings 1, 2 are unused.
layout(set = 0, binding = 1) uniform samplerBuffer qa_tex;
layout(set = 0, binding = 2) uniform samplerBuffer qb_tex;
uvec4 cache8(uint half_index) { return floatBitsToUint(texelFetch(cache_tex, int((uvec2(p.cache).x + half_index) >> 3))); }
vec4 halves_lo(uvec4 w) { return vec4(unpackHalf2x16(w.x), unpackHalf2x16(w.y)); }
vec4 halves_hi(uvec4 w) { return vec4(unpackHalf2x16(w.z), unpackHalf2x16(w.w)); }
#endif

vec4 q4(uint b, uint i) { return q_sh4[(b * QMAX + i) / 4]; }
float q1(uint b, uint i) {
  const uint o = b * QMAX + i;
  return q_sh4[o / 4][o % 4];
}

// Pool row of key j of sequence slot seq, clamped into the pool (the host builds the table; a bad
// entry reads a wrong key rather than outside the pool).
uint key_row(uint seq, uint j) { return min(step_cache_row(p.step, seq, j, p.block_tokens), p.pool_rows - 1); }

void main() {
  const uint WG = gl_WorkGroupSize.x, lid = gl_LocalInvocationID.x;
  const uint g = flat_group_id();
  if (g >= p.records / HB) return;  // grid padding
  const uint blocks = p.heads / HB;
  const uint s = g % p.n_splits, tb = g / p.n_splits;
  const uint h0 = (tb % blocks) * HB, tz = tb / blocks;
  // llvmpipe hands each thread one contiguous range of workgroups, and a causal row's cost grows
  // with its position: with rows in order, the thread holding the last rows did 3/4 of a full
  // chunk's work. Rows in bit-reversed order (when the row count is a power of two) give every
  // range the same mix of early and late rows, and of live rows when the step holds fewer.
  const uint rows = p.records / (p.heads * p.n_splits);
  const uint t = (rows > 1 && (rows & (rows - 1)) == 0) ? bitfieldReverse(tz) >> (32 - findMSB(rows)) : tz;
  if (t >= p.step.n_tokens) return;  // uniform per workgroup
  const uint n_keys = min(step_pos(p.step, t) + 1, p.max_context);
  const uint seq = step_seq(p.step, t);
  const uint k_begin = s * p.split_len;
  const uint k_end = min(n_keys, k_begin + p.split_len);
  const uint rec0 = (t * p.heads + h0) * p.n_splits + s;  // head h0 + b: rec0 + b * n_splits
  const uint o_base = 2 * p.records;
  if (k_begin >= k_end) {  // past the causal end: an empty split for the merge
    if (DIRECT == 0 && lid < HB) {
      p.part.v[2 * (rec0 + lid * p.n_splits)] = NEG_INF;
      p.part.v[2 * (rec0 + lid * p.n_splits) + 1] = 0.0;
    }
    return;
  }
#ifdef CACHE_TEXELS
  uint qa_texel[HB], qb_texel[HB];  // Q_TEXELS: head h0 + b's first query texel in each view
  for (uint b = 0; b < HB; ++b) {
    qa_texel[b] = Q_TEXELS != 0 ? (uvec2(p.qa).x + t * p.qa_stride + (h0 + b) * p.qa_head) >> 2 : 0;
    qb_texel[b] = Q_TEXELS != 0 ? (uvec2(p.qb).x + t * p.qb_stride + (h0 + b) * p.qb_head + p.qb_off) >> 2 : 0;
  }
  if (Q_TEXELS == 0) {
#else
  {
#endif
    for (uint i = lid; i < p.na; i += WG)
      for (uint b = 0; b < HB; ++b) {
        const uint o = b * QMAX + i;
        q_sh4[o / 4][o % 4] = p.qa.v[t * p.qa_stride + (h0 + b) * p.qa_head + i];
      }
    for (uint i = lid; i < p.nb; i += WG)
      for (uint b = 0; b < HB; ++b) {
        const uint o = b * QMAX + p.na + i;
        q_sh4[o / 4][o % 4] = p.qb.v[t * p.qb_stride + (h0 + b) * p.qb_head + p.qb_off + i];
      }
    barrier();  // uniform: Q_TEXELS is a constant
  }

  const uint kvh = h0 / p.group;
  const uint ka = kvh * p.kv_head_stride, vo = p.v_off + kvh * p.kv_head_stride;
  U32x2In cache4 = U32x2In(p.cache);
  float m[HB], l[HB];
  vec4 acc[HB * OWN];
  for (uint b = 0; b < HB; ++b) {
    m[b] = NEG_INF;
    l[b] = 0.0;
  }
  for (uint k = 0; k < HB * OWN; ++k) acc[k] = vec4(0.0);

  for (uint tile = k_begin; tile < k_end; tile += TILE) {
    // Key c of this invocation is tile + lid + c * WG; keys past the split read the split's last
    // row (a valid address) and their scores are discarded.
    float score[HB * KPL];
    for (uint x = 0; x < HB * KPL; ++x) score[x] = 0.0;
    uint rows[KPL];
    for (uint c = 0; c < KPL; ++c) rows[c] = key_row(seq, min(tile + lid + c * WG, k_end - 1)) * p.width;
#ifdef CACHE_TEXELS
    for (uint i = 0; i < p.na / 8; ++i) {
      vec4 klo[KPL], khi[KPL];
      for (uint c = 0; c < KPL; ++c) {
        const uvec4 w = cache8(rows[c] + ka + 8 * i);
        klo[c] = halves_lo(w);
        khi[c] = halves_hi(w);
      }
      for (uint b = 0; b < HB; ++b) {
        const vec4 qlo = Q_TEXELS != 0 ? texelFetch(qa_tex, int(qa_texel[b] + 2 * i)) : q4(b, 8 * i);
        const vec4 qhi = Q_TEXELS != 0 ? texelFetch(qa_tex, int(qa_texel[b] + 2 * i + 1)) : q4(b, 8 * i + 4);
        for (uint c = 0; c < KPL; ++c) score[c * HB + b] += dot(qlo, klo[c]) + dot(qhi, khi[c]);
      }
    }
    for (uint i = 0; i < p.nb / 8; ++i) {
      vec4 klo[KPL], khi[KPL];
      for (uint c = 0; c < KPL; ++c) {
        const uvec4 w = cache8(rows[c] + p.kb_off + 8 * i);
        klo[c] = halves_lo(w);
        khi[c] = halves_hi(w);
      }
      for (uint b = 0; b < HB; ++b) {
        const vec4 qlo = Q_TEXELS != 0 ? texelFetch(qb_tex, int(qb_texel[b] + 2 * i)) : q4(b, p.na + 8 * i);
        const vec4 qhi = Q_TEXELS != 0 ? texelFetch(qb_tex, int(qb_texel[b] + 2 * i + 1)) : q4(b, p.na + 8 * i + 4);
        for (uint c = 0; c < KPL; ++c) score[c * HB + b] += dot(qlo, klo[c]) + dot(qhi, khi[c]);
      }
    }
#else
    if (VEC4 != 0) {
      for (uint i = 0; i < p.na / 4; ++i) {
        vec4 kv[KPL];
        for (uint c = 0; c < KPL; ++c) kv[c] = halves4(cache4.v[(rows[c] + ka) / 4 + i]);
        for (uint b = 0; b < HB; ++b) {
          const vec4 q = q4(b, 4 * i);
          for (uint c = 0; c < KPL; ++c) score[c * HB + b] += dot(q, kv[c]);
        }
      }
      for (uint i = 0; i < p.nb / 4; ++i) {
        vec4 kv[KPL];
        for (uint c = 0; c < KPL; ++c) kv[c] = halves4(cache4.v[(rows[c] + p.kb_off) / 4 + i]);
        for (uint b = 0; b < HB; ++b) {
          const vec4 q = q4(b, p.na + 4 * i);
          for (uint c = 0; c < KPL; ++c) score[c * HB + b] += dot(q, kv[c]);
        }
      }
    } else {
      for (uint i = 0; i < p.na; ++i) {
        float kv[KPL];
        for (uint c = 0; c < KPL; ++c) kv[c] = float(p.cache.v[rows[c] + ka + i]);
        for (uint b = 0; b < HB; ++b) {
          const float q = q1(b, i);
          for (uint c = 0; c < KPL; ++c) score[c * HB + b] += q * kv[c];
        }
      }
      for (uint i = 0; i < p.nb; ++i) {
        float kv[KPL];
        for (uint c = 0; c < KPL; ++c) kv[c] = float(p.cache.v[rows[c] + p.kb_off + i]);
        for (uint b = 0; b < HB; ++b) {
          const float q = q1(b, p.na + i);
          for (uint c = 0; c < KPL; ++c) score[c * HB + b] += q * kv[c];
        }
      }
    }
#endif
    for (uint b = 0; b < HB; ++b) {
      float own_max = NEG_INF;
      for (uint c = 0; c < KPL; ++c) {
        const uint x = c * HB + b;
        score[x] = tile + lid + c * WG < k_end ? score[x] * p.scale : NEG_INF;
        own_max = max(own_max, score[x]);
      }
      s_sh4[lid * HBV + b / 4][b % 4] = own_max;
    }
    barrier();
    const uint n_tile = min(TILE, k_end - tile);
    vec4 tile_max[HBV];
    for (uint v = 0; v < HBV; ++v) tile_max[v] = vec4(NEG_INF);
    for (uint jj = 0; jj < min(WG, n_tile); ++jj)  // invocations past n_tile hold only -inf
      for (uint v = 0; v < HBV; ++v) tile_max[v] = max(tile_max[v], s_sh4[jj * HBV + v]);
    float alpha[HB];
    for (uint b = 0; b < HB; ++b) {
      const float m_new = max(m[b], tile_max[b / 4][b % 4]);
      alpha[b] = exp(m[b] - m_new);  // 0 on the first tile (m = -inf)
      for (uint c = 0; c < KPL; ++c) {
        const uint jl = lid + c * WG;
        p_sh4[jl * HBV + b / 4][b % 4] = tile + jl < k_end ? exp(score[c * HB + b] - m_new) : 0.0;
      }
      m[b] = m_new;
    }
    barrier();
    for (uint b = 0; b < HB; ++b) {
      l[b] *= alpha[b];
      for (uint k = 0; k < OWN; ++k) acc[b * OWN + k] *= alpha[b];
    }
    // Keys run in pieces that stay inside one cache block: one table lookup per piece.
    for (uint jj = 0, run_end = 0, row0 = 0; jj < n_tile; ++jj) {
      if (jj == run_end) {
        const uint key = tile + jj;
        run_end = min(n_tile, jj + p.block_tokens - key % p.block_tokens);
        row0 = key_row(seq, key) - jj;
      }
      vec4 pj[HBV];
      for (uint v = 0; v < HBV; ++v) pj[v] = p_sh4[jj * HBV + v];
      for (uint b = 0; b < HB; ++b) l[b] += pj[b / 4][b % 4];
      const uint row = (row0 + jj) * p.width + vo;
      for (uint k = 0; k < OWN; ++k) {
        const uint gi = lid + k * WG;
        if (VEC4 != 0) {
          if (4 * gi < p.dv) {
#ifdef CACHE_TEXELS
            const uvec4 w = cache8(row + 4 * (gi & ~1u));
            const vec4 val = (gi & 1u) == 0 ? halves_lo(w) : halves_hi(w);
#else
            const vec4 val = halves4(cache4.v[row / 4 + gi]);
#endif
            for (uint b = 0; b < HB; ++b) acc[b * OWN + k] += pj[b / 4][b % 4] * val;
          }
        } else if (gi < p.dv) {
          const float val = float(p.cache.v[row + gi]);
          for (uint b = 0; b < HB; ++b) acc[b * OWN + k].x += pj[b / 4][b % 4] * val;
        }
      }
    }
    // No barrier needed here: the next tile writes s_sh before its first barrier (every
    // invocation has read s_sh above) and p_sh only after it (every invocation is past this loop).
  }

  for (uint b = 0; b < HB; ++b) {
    const uint rec = rec0 + b * p.n_splits;
    const float inv_l = DIRECT != 0 ? 1.0 / l[b] : 1.0;
    const uint ob = DIRECT != 0 ? t * p.out_stride + (h0 + b) * p.dv : o_base + rec * p.dv;
    if (DIRECT == 0 && lid == 0) {
      p.part.v[2 * rec] = m[b];
      p.part.v[2 * rec + 1] = l[b];
    }
    for (uint k = 0; k < OWN; ++k) {
      const uint gi = lid + k * WG;
      if (VEC4 != 0) {
        if (4 * gi < p.dv)
          for (uint c = 0; c < 4; ++c) p.part.v[ob + 4 * gi + c] = acc[b * OWN + k][c] * inv_l;
      } else if (gi < p.dv) {
        p.part.v[ob + gi] = acc[b * OWN + k].x * inv_l;
      }
    }
  }
}
