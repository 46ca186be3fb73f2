#version 460
// y[t, r] = (accumulate ? y[t, r] : 0) + sum_c W[r, c] * x[t, c] + bias[r], for every weight
// format (FORMAT, weight_decode.glsl), as GEMV (TOKENS == 1) or GEMM (TOKENS rows of x per
// invocation, so each decoded weight is used TOKENS times from registers).
//
// Two shapes (variant table):
//   SHAPE_LANES  CPU drivers (lavapipe): every lane owns ROWS whole rows (rows lane, lane +
//                WG, ...) and all lanes walk the columns in lockstep: no cross-lane reduction,
//                no barrier, and the x loads are the same address in every lane.
//   otherwise    GPUs: a workgroup owns ROWS rows, its lanes stride over the column chunks and
//                each (row, token) sum is reduced with workgroup_sum (REDUCE_MODE, reduce.glsl).
//
// Grid: x = blocks of TOKENS tokens (or jobs), y = head (linear_heads; 1 otherwise) or expert
// (grouped MoE), z = blocks of rows within a head. Rows go slowest because llvmpipe hands each
// thread one contiguous range of workgroups (z slowest): row blocks cost the same, while token
// blocks past a short prompt, or past a grouped expert's jobs, are empty; with tokens slowest one
// thread got the work and the other the empty blocks. Row h*rows + r of the packed tensor is
// head h's row r, so per-head weights need no offsets of their own; head h reads x columns from
// h * x_head_stride + x_offset.
//
// MOE (routed experts; TOKENS == 1; weights from the expert table, ids from the router):
//   1  gate|up: job s = t * top_k + k multiplies expert ids[t, k]'s gate_up matrix with x row t
//      and writes row s of y (scratch);
//   2  down: for token t, sums route_w[t, k] * down_{ids[t, k]} x row (t * top_k + k) over k
//      and adds the result to y row t.
//   3  grouped gate|up (prefill): grid y = expert e; TOKENS jobs of e at a time (job lists from
//      moe_group.comp), so each decoded expert weight serves several tokens; writes row s.
//   4  grouped down: like 3 over the activation rows, scaled by the job's routing weight and
//      written to row s of a per-job buffer that moe_combine.comp sums per token.
// Expert ids outside [0, experts) contribute nothing (they only guard memory).
//
// Fused RMSNorm input (flags & 4, MOE 0 only): the op reads the input of an RMSNorm whose output
// only linear ops read (exec/norm_fusion.h): y = W (x * norm_w) * inversesqrt(mean(x^2) + eps)
// + bias, per token. The same product as normalising first (MODEL_SPEC's RMSNorm, then the
// linear); the sum of squares runs in each invocation (SHAPE_LANES) or as a workgroup sum, and
// the row scale multiplies the finished dot product (the sum is linear in x, offsets and mins
// included), so the rounding differs from the two-kernel path only in the last bits.
//
// Fused SwiGLU input (flags & 8, MOE 0 and 2): x rows are [gate | up], 2 * cols wide, and the op
// multiplies W with silu(gate) * up (MODEL_SPEC's SwiGLU, the formula of rows_swiglu.comp and
// moe_swiglu.comp) computed as it reads x: the activation row never goes through memory, and the
// SwiGLU op before a down projection is not a dispatch of its own (exec/norm_fusion.h).
#include "common.glsl"
#include "step.glsl"

layout(local_size_x_id = 0) in;
layout(constant_id = 1) const uint ROWS = 1;      // rows per lane (lanes) or per workgroup
layout(constant_id = 2) const uint TOKENS = 1;    // tokens per invocation
layout(constant_id = 3) const uint GROUP = 32;    // q8/q4/fp8 group
layout(constant_id = 4) const uint WEIGHT_VEC = 0;  // 1: rows allow 16-byte chunk loads
layout(constant_id = 5) const uint X_VEC = 0;       // 1: x rows allow vec4 loads
layout(constant_id = 6) const uint INPUT_FLAGS = 12;  // the input transforms (flags 4, 8) this pipeline may apply

#if defined(BOUND) && MOE != 0
#error "the descriptor-bound twin is for plain linear (MOE 0)"
#endif
#if defined(BOUND_X) && MOE < 3
#error "x alone is bound for the grouped MoE GEMMs (MOE 3, 4)"
#endif
#include "weight_decode.glsl"
#ifndef SHAPE_LANES
#include "reduce.glsl"
#endif

layout(buffer_reference, std430, buffer_reference_align = 8) readonly buffer U64In { uint64_t v[]; };

layout(push_constant) uniform Params {
  uint64_t w_data;    // MOE: the expert table (4 addresses per expert)
  uint64_t w_scales;
#ifdef BOUND
  uint norm_offset;  // flags & 4: norm_w's first element in the norm texel view (x is bound too)
  uint x_unused;
#else
  F32In x;
#endif
  F32Out y;
  F32In bias;
  StepParams step;
  U32In ids;
  F32In route_w;
  uint rows;  // rows per head (MOE: rows of one expert matrix)
  uint cols;
  uint x_stride;
  uint x_head_stride;
  uint x_offset;
  uint y_stride;
  uint flags;  // 1: add bias, 2: accumulate into y, 4: RMSNorm the input (norm_w, norm_eps), 8: SwiGLU input
  uint top_k;
  uint experts;
  uint ids_stride;
  uint route_stride;
  float norm_eps;  // flags & 4
  U32In groups;  // MOE 3/4: offsets[experts + 1], then the job list grouped by expert
  F32In norm_w;  // flags & 4: the RMSNorm weight, [cols]
} p;

const uint ACC = ROWS * TOKENS;

#if defined(BOUND) || defined(BOUND_X)
// x through a uniform texel buffer: an R32G32B32A32_SFLOAT view of x's whole buffer (binding 2
// after W's two, or 0 when only x is bound: grouped MoE, whose experts stay device addresses);
// p.x_offset counts x's first element from the view's start, p.x itself is unused. On llvmpipe a
// texel fetch is a gather (one index for every lane here), where a storage-buffer or device-address
// load is a loop over the lanes: f16 GEMM 1.18-1.24x (docs/linear_kernels.md).
#ifdef BOUND
const uint X_BINDING = 2;
#else
const uint X_BINDING = 0;
#endif
layout(set = 0, binding = X_BINDING) uniform samplerBuffer x_tex;
#define X_AT(i) texelFetch(x_tex, int((i) >> 2))[(i) & 3u]
#ifdef BOUND
// The fused RMSNorm's weight through a texel view too (binding 3; x's view again when unused):
// read once per chunk for every token of the invocation, it cost as much as x did.
layout(set = 0, binding = 3) uniform samplerBuffer n_tex;
#define N_AT(i) texelFetch(n_tex, int((p.norm_offset + (i)) >> 2))[(p.norm_offset + (i)) & 3u]
vec4 load_n4(uint c) {
  if ((p.norm_offset & 3u) == 0) return texelFetch(n_tex, int((p.norm_offset + c) >> 2));  // c % 4 == 0
  return vec4(N_AT(c), N_AT(c + 1), N_AT(c + 2), N_AT(c + 3));
}
#endif
vec4 load_x4(uint i) {
  if (X_VEC != 0) return texelFetch(x_tex, int(i >> 2));  // the host set X_VEC only where i % 4 == 0
  return vec4(X_AT(i), X_AT(i + 1), X_AT(i + 2), X_AT(i + 3));
}
#else
#define X_AT(i) p.x.v[i]
vec4 load_x4(uint i) {
  if (X_VEC != 0) return uintBitsToFloat(words(U64x2In(p.x).v[i / 4]));
  return vec4(X_AT(i), X_AT(i + 1), X_AT(i + 2), X_AT(i + 3));
}
#endif

// silu(gate) * up for the four columns at x element i (fused SwiGLU input: up is cols further).
vec4 swiglu4(vec4 g, uint i) { return g / (1.0 + exp(-g)) * load_x4(i + p.cols); }

#ifndef BOUND
// Norm weights of columns c..c+3 (fused RMSNorm input).
#define N_AT(i) p.norm_w.v[i]
vec4 load_n4(uint c) { return vec4(N_AT(c), N_AT(c + 1), N_AT(c + 2), N_AT(c + 3)); }
#endif

// inversesqrt(mean(x[xb, 0..cols)^2) + eps): the fused RMSNorm's row scale.
float norm_scale(uint xb) {
#ifdef SHAPE_LANES
  const uint first = 0, stride = 1;
#else
  const uint first = gl_LocalInvocationID.x, stride = gl_WorkGroupSize.x;
#endif
  float sum_sq = 0.0;
  for (uint c = first; c < p.cols; c += stride) {
    const float v = X_AT(xb + c);
    sum_sq = fma(v, v, sum_sq);
  }
#ifndef SHAPE_LANES
  sum_sq = workgroup_sum(sum_sq);
#endif
  return inversesqrt(sum_sq / float(p.cols) + p.norm_eps);
}

// acc[i * TOKENS + t] += sum_c W[wrow[i], c] * x[xb[t] + c].
void accumulate(WeightRef w, uint wrow[ROWS], uint xb[TOKENS], inout float acc[ACC]) {
#ifdef SHAPE_LANES
  const uint first = 0, stride = 1;
#else
  const uint first = gl_LocalInvocationID.x, stride = gl_WorkGroupSize.x;
#endif
  const uint nv = WEIGHT_VEC != 0 ? w.cols / CHUNK : 0;
  const bool normed = MOE == 0 && (INPUT_FLAGS & 4u) != 0 && (p.flags & 4u) != 0;
  const bool glu = (MOE == 0 || MOE == 2) && (INPUT_FLAGS & 8u) != 0 && (p.flags & 8u) != 0;
  for (uint c = first; c < nv; c += stride) {  // host keeps the trip count < 65535
    const uint c0 = c * CHUNK;
    Chunk ch[ROWS];
    for (uint i = 0; i < ROWS; ++i) ch[i] = load_chunk(w, wrow[i], c0, GROUP);
    float part[ACC];  // sum of q * x over the chunk; the chunk's scale is applied once below
    for (uint a = 0; a < ACC; ++a) part[a] = 0.0;
    float xsum[TOKENS];  // sum of x over the chunk, for stored offsets and mins (CHUNK_XSUM)
    for (uint t = 0; t < TOKENS; ++t) xsum[t] = 0.0;
    for (uint j = 0; j < SUBCHUNKS; ++j) {
      vec4 lo[ROWS], hi[ROWS];
      for (uint i = 0; i < ROWS; ++i) decode8(ch[i], j, lo[i], hi[i]);
      vec4 nl = vec4(1.0), nh = vec4(1.0);
      if (normed) {
        nl = load_n4(c0 + 8 * j);
        nh = load_n4(c0 + 8 * j + 4);
      }
      for (uint t = 0; t < TOKENS; ++t) {
        vec4 xl = load_x4(xb[t] + c0 + 8 * j), xh = load_x4(xb[t] + c0 + 8 * j + 4);
        if (glu) {
          xl = swiglu4(xl, xb[t] + c0 + 8 * j);
          xh = swiglu4(xh, xb[t] + c0 + 8 * j + 4);
        }
        xl *= nl;
        xh *= nh;
        if (CHUNK_XSUM) xsum[t] += dot(xl + xh, vec4(1.0));
        for (uint i = 0; i < ROWS; ++i) part[i * TOKENS + t] += dot(lo[i], xl) + dot(hi[i], xh);
      }
    }
    for (uint i = 0; i < ROWS; ++i)
      for (uint t = 0; t < TOKENS; ++t)
        acc[i * TOKENS + t] = chunk_accumulate(ch[i], part[i * TOKENS + t], xsum[t], acc[i * TOKENS + t]);
  }
  // Tail columns past the last whole chunk (all columns when rows are not chunk-aligned). Inputs
  // past `cols` are never read, so q8/q4 padding never meets garbage.
  for (uint c = nv * CHUNK + first; c < w.cols; c += stride) {
    float wv[ROWS];
    for (uint i = 0; i < ROWS; ++i) wv[i] = weight_at(w, wrow[i], c, GROUP);
    const float nv1 = normed ? N_AT(c) : 1.0;
    for (uint t = 0; t < TOKENS; ++t) {
      float xv = X_AT(xb[t] + c);
      if (glu) xv = xv / (1.0 + exp(-xv)) * X_AT(xb[t] + c + p.cols);
      xv *= nv1;
      for (uint i = 0; i < ROWS; ++i) acc[i * TOKENS + t] = fma(wv[i], xv, acc[i * TOKENS + t]);
    }
  }
}

// Rows of x / y this block works on: token (or job) t of the block is x row xrow[t] and y row
// yrow[t]; t is stored only when t < valid.
void block(uint t0, uint group_expert, uint group_begin, uint group_count) {
#if MOE == 1
  const uint jobs = p.step.n_tokens * p.top_k;
#elif MOE >= 3
  const uint jobs = group_count;
#else
  const uint jobs = p.step.n_tokens;
#endif
  if (t0 >= jobs) return;  // uniform per workgroup
  const uint head = MOE >= 3 ? 0 : gl_WorkGroupID.y;

  uint r[ROWS];  // this invocation's rows within the head
  uint wrow[ROWS];
  for (uint i = 0; i < ROWS; ++i) {
#ifdef SHAPE_LANES
    r[i] = gl_WorkGroupID.z * (gl_WorkGroupSize.x * ROWS) + i * gl_WorkGroupSize.x + gl_LocalInvocationID.x;
#else
    r[i] = gl_WorkGroupID.z * ROWS + i;
#endif
    wrow[i] = head * p.rows + min(r[i], p.rows - 1);  // clamp: loads stay in bounds, stores are guarded
  }

  float total[ACC];
  for (uint a = 0; a < ACC; ++a) total[a] = 0.0;
  uint yrow[TOKENS];
  for (uint t = 0; t < TOKENS; ++t) yrow[t] = t0 + t;

#if MOE == 0
  const WeightRef w = make_weight_ref(p.w_data, p.w_scales, p.cols, GROUP);
  uint xb[TOKENS];
  for (uint t = 0; t < TOKENS; ++t) xb[t] = min(t0 + t, jobs - 1) * p.x_stride + head * p.x_head_stride + p.x_offset;
  accumulate(w, wrow, xb, total);
  if ((INPUT_FLAGS & 4u) != 0 && (p.flags & 4u) != 0) {
    for (uint t = 0; t < TOKENS; ++t) {
      const float scale = norm_scale(xb[t]);
      for (uint i = 0; i < ROWS; ++i) total[i * TOKENS + t] *= scale;
    }
  }
#elif MOE == 1
  const uint tok = t0 / p.top_k;
  const uint e = p.ids.v[tok * p.ids_stride + t0 % p.top_k];
  if (e < p.experts) {
    U64In table = U64In(p.w_data);
    const WeightRef w = make_weight_ref(table.v[4 * e], table.v[4 * e + 1], p.cols, GROUP);
    uint xb[TOKENS];
    xb[0] = tok * p.x_stride;
    accumulate(w, wrow, xb, total);
  }
#elif MOE == 2
  const uint tok = t0;
  for (uint k = 0; k < p.top_k; ++k) {
    const uint e = p.ids.v[tok * p.ids_stride + k];
    if (e >= p.experts) continue;
    U64In table = U64In(p.w_data);
    const WeightRef w = make_weight_ref(table.v[4 * e + 2], table.v[4 * e + 3], p.cols, GROUP);
    uint xb[TOKENS];
    xb[0] = (tok * p.top_k + k) * p.x_stride;
    float acc[ACC];
    for (uint a = 0; a < ACC; ++a) acc[a] = 0.0;
    accumulate(w, wrow, xb, acc);
    const float rw = p.route_w.v[tok * p.route_stride + k];
    for (uint a = 0; a < ACC; ++a) total[a] = fma(rw, acc[a], total[a]);
  }
#else
  // Grouped (prefill): the block's jobs all use expert group_expert; job j = token * top_k + k.
  U64In table = U64In(p.w_data);
  const uint e = group_expert;
  const WeightRef w = MOE == 3 ? make_weight_ref(table.v[4 * e], table.v[4 * e + 1], p.cols, GROUP)
                               : make_weight_ref(table.v[4 * e + 2], table.v[4 * e + 3], p.cols, GROUP);
  uint xb[TOKENS];
  for (uint t = 0; t < TOKENS; ++t) {
    const uint job = p.groups.v[p.experts + 1 + group_begin + min(t0 + t, jobs - 1)];
    yrow[t] = job;
    xb[t] = (MOE == 3 ? job / p.top_k : job) * p.x_stride + p.x_offset;
  }
  accumulate(w, wrow, xb, total);
#if MOE == 4
  for (uint t = 0; t < TOKENS; ++t) {
    const uint job = yrow[t];
    const float rw = p.route_w.v[(job / p.top_k) * p.route_stride + job % p.top_k];
    for (uint i = 0; i < ROWS; ++i) total[i * TOKENS + t] *= rw;
  }
#endif
#endif

  for (uint i = 0; i < ROWS; ++i) {
    for (uint t = 0; t < TOKENS; ++t) {
#ifdef SHAPE_LANES
      const float v = total[i * TOKENS + t];
      const bool writer = true;
#else
      const float v = workgroup_sum(total[i * TOKENS + t]);
      const bool writer = gl_LocalInvocationID.x == 0;
#endif
      if (!writer || r[i] >= p.rows || t0 + t >= jobs) continue;
      const uint col = head * p.rows + r[i];
      const uint o = yrow[t] * p.y_stride + col;
      float result = v;
      if ((p.flags & 1u) != 0) result += p.bias.v[col];
#if MOE == 2
      result += p.y.v[o];
#else
      if ((p.flags & 2u) != 0) result += p.y.v[o];
#endif
      p.y.v[o] = result;
    }
  }
}

void main() {
#if MOE >= 3
  // Grid y = expert; its jobs are groups[offsets[e] .. offsets[e + 1]) (moe_group.comp), taken
  // TOKENS at a time, grid-stride over x so any job count is covered.
  const uint e = gl_WorkGroupID.y;
  const uint begin = p.groups.v[e];
  const uint count = p.groups.v[e + 1] - begin;
  for (uint t0 = gl_WorkGroupID.x * TOKENS; t0 < count; t0 += gl_NumWorkGroups.x * TOKENS) block(t0, e, begin, count);
#else
  block(gl_WorkGroupID.x * TOKENS, 0, 0, 0);
#endif
}
