// Reading packed weights (runtime/plan/weight_format.h) in the matrix kernels. FORMAT is set by
// the variant table: 0 f32, 1 f16, 2 q8, 3 q4, 4 fp8, and the GGUF block formats kept verbatim
// 5 q8_0, 6 q4_k, 7 q6_k (the WeightFormat enum values; layouts in runtime/base/ggml_blocks.h).
//
// Two access paths:
//   weight_at(w, row, c)      one weight, any shape (tails of rows, unaligned rows, embed);
//   load_chunk / decode8      a chunk of CHUNK weights starting at a multiple of CHUNK, read with
//                             16-byte loads and decoded 8 at a time (SUBCHUNKS per chunk). Legal
//                             only where the host said rows are aligned (WEIGHT_VEC == 1).
// The spec constant GROUP is the format's group (q8 32, q4 32/128, fp8 128; unused otherwise).
// q8/q4 rows are padded to GROUP columns (padded_cols), f32/f16/fp8 rows are not. The block
// formats address rows in bytes (blocks per row x block bytes, 64-bit); their chunk is 32 weights
// (one q8_0 block, one q4_k sub-block, one q6_k quarter-half), so CHUNK_SCALED sums stay exact
// integers times x until the chunk's scale. q8_0 and q6_k blocks are only 2-byte aligned
// (34 / 210 bytes): q8_0 is read as aligned 32-bit words re-joined by shifts, q6_k as 16-bit
// words (storageBuffer16BitAccess, required anyway); q4_k blocks (144 bytes) are 16-byte aligned
// and read like q8/q4.
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require

#ifndef FORMAT
#error "FORMAT must be set by the variant table"
#endif

// Chunks are read as 64-bit words: a CPU driver turns each per-lane load into one scalar load
// per 32/64-bit component, so 64-bit components halve the load count (docs/decisions.md).
layout(buffer_reference, std430, buffer_reference_align = 16) readonly buffer U64x2In { u64vec2 v[]; };
layout(buffer_reference, std430, buffer_reference_align = 8) readonly buffer U64In1 { uint64_t v[]; };

layout(buffer_reference, std430, buffer_reference_align = 2) readonly buffer U16In { uint16_t v[]; };

#ifdef BOUND
// Descriptor-bound twin (linear.comp BOUND, formats 0..4 only): the weight's data and scales are
// storage-buffer bindings whose ranges start at the tensor (index 0 = its first byte), so
// WeightRef.data / .scales are unused. llvmpipe loads bindings without the per-lane loop it
// emits for device addresses (docs/decisions.md D3). The aliases are views of the same bytes.
#if FORMAT > 4
#error "the descriptor-bound twin covers f32, f16, q8, q4 and fp8"
#endif
layout(set = 0, binding = 0, std430) readonly buffer WDataV2 { u64vec2 wd_v2[]; };
layout(set = 0, binding = 0, std430) readonly buffer WDataU64 { uint64_t wd_u64[]; };
layout(set = 0, binding = 0, std430) readonly buffer WDataU32 { uint wd_u32[]; };
layout(set = 0, binding = 0, std430) readonly buffer WDataF32 { float wd_f32[]; };
layout(set = 0, binding = 0, std430) readonly buffer WDataF16 { float16_t wd_f16[]; };
layout(set = 0, binding = 1, std430) readonly buffer WScalesF16 { float16_t ws_f16[]; };
layout(set = 0, binding = 1, std430) readonly buffer WScalesF32 { float ws_f32[]; };
#define W_V2(w, i) wd_v2[i]
#define W_U64(w, i) wd_u64[i]
#define W_U32(w, i) wd_u32[i]
#define W_F32(w, i) wd_f32[i]
#define W_F16(w, i) wd_f16[i]
#define S_F16(w, i) ws_f16[i]
#define S_F32(w, i) ws_f32[i]
#else
#define W_V2(w, i) U64x2In(w.data).v[i]
#define W_U64(w, i) U64In1(w.data).v[i]
#define W_U32(w, i) U32In(w.data).v[i]
#define W_F32(w, i) F32In(w.data).v[i]
#define W_F16(w, i) F16In(w.data).v[i]
#define S_F16(w, i) F16In(w.scales).v[i]
#define S_F32(w, i) F32In(w.scales).v[i]
#endif

// Whether decode8's values still need Chunk.scale, and the offset q8/q4/q8_0 values carry.
const bool CHUNK_SCALED = FORMAT >= 2;
const float Q_OFFSET = FORMAT == 3 ? 8.0 : ((FORMAT == 2 || FORMAT == 5) ? 128.0 : 0.0);
// Whether chunk_accumulate needs the sum of x over the chunk (stored offsets, q4_k's mins).
const bool CHUNK_XSUM = Q_OFFSET != 0.0 || FORMAT == 6;
#if FORMAT == 5
const uint BLOCK_VALUES = 32;
const uint BLOCK_BYTES = 34;
#elif FORMAT == 6
const uint BLOCK_VALUES = 256;
const uint BLOCK_BYTES = 144;
#elif FORMAT == 7
const uint BLOCK_VALUES = 256;
const uint BLOCK_BYTES = 210;
#endif
#if FORMAT == 2 || FORMAT == 3 || FORMAT >= 5
const uint CHUNK = 32;
const uint SUBCHUNKS = 4;
#else
const uint CHUNK = 8;
const uint SUBCHUNKS = 1;
#endif

// Where one weight matrix lives: data and scales addresses plus its shape.
struct WeightRef {
  uint64_t data;
  uint64_t scales;
  uint cols;         // logical columns
  uint padded_cols;  // row stride in elements (== cols except q8/q4)
  uint scale_cols;   // q8/q4: scales per row; fp8: 128-column blocks per row; q8_0/q4_k/q6_k: blocks per row
};

uint padded_columns(uint cols, uint group) {
#if FORMAT == 2 || FORMAT == 3
  return (cols + group - 1) / group * group;
#else
  return cols;
#endif
}

WeightRef make_weight_ref(uint64_t data, uint64_t scales, uint cols, uint group) {
  WeightRef w;
  w.data = data;
  w.scales = scales;
  w.cols = cols;
  w.padded_cols = padded_columns(cols, group);
#if FORMAT >= 5
  w.scale_cols = cols / BLOCK_VALUES;
#else
  w.scale_cols = (FORMAT == 4) ? (cols + 127) / 128 : w.padded_cols / max(group, 1u);
#endif
  return w;
}

#if FORMAT >= 5
// Address of block `b` of `row`.
uint64_t block_address(WeightRef w, uint row, uint b) {
  return w.data + (uint64_t(row) * w.scale_cols + b) * BLOCK_BYTES;
}
// The 16-bit word at byte `off` (even) of a block, and byte `off` (any).
uint block_u16(uint64_t base, uint off) { return uint(U16In(base + off).v[0]); }
uint block_u8(uint64_t base, uint off) { return (block_u16(base, off & ~1u) >> (8 * (off & 1u))) & 0xFFu; }
// 4 bytes from an even offset, as two 16-bit loads (q8_0 / q6_k blocks are not 4-byte aligned).
uint block_u32(uint64_t base, uint off) { return block_u16(base, off) | (block_u16(base, off + 2) << 16); }
#endif

#if FORMAT == 6
// The low nibbles of 8 bytes as one word: byte i's nibble to bits 4i..4i+3.
uint nibbles8(uint64_t v) {
  v &= 0x0F0F0F0F0F0F0F0FUL;
  v = (v | (v >> 4)) & 0x00FF00FF00FF00FFUL;
  v = (v | (v >> 8)) & 0x0000FFFF0000FFFFUL;
  return uint(v | (v >> 16));
}

// Scale and min of q4_k sub-block j (0..7) from the 12 scale bytes as 3 words (ggml's
// get_scale_min_k4): 6-bit pairs, the top 2 bits of j >= 4 kept in bytes 0..7.
uvec2 q4k_scale_min(uvec3 s, uint j) {
  const uint b_lo = (s[(j % 8) / 4] >> (8 * (j % 4))) & 0xFFu;  // byte j (j < 4) or byte j (4..7)
  if (j < 4) {
    const uint m = (s[1] >> (8 * j)) & 0xFFu;  // byte j + 4
    return uvec2(b_lo & 63u, m & 63u);
  }
  const uint hi = (s[2] >> (8 * (j - 4))) & 0xFFu;        // byte j + 4
  const uint lo_sc = (s[0] >> (8 * (j - 4))) & 0xFFu;     // byte j - 4
  const uint lo_m = b_lo;                                  // byte j
  return uvec2((hi & 15u) | ((lo_sc >> 6) << 4), (hi >> 4) | ((lo_m >> 6) << 4));
}
#endif

float group_scale(WeightRef w, uint row, uint c, uint group) {
#if FORMAT == 2 || FORMAT == 3
  return float(S_F16(w, row * w.scale_cols + c / group));
#elif FORMAT == 4
  return S_F32(w, (row / 128) * w.scale_cols + c / 128);
#else
  return 1.0;
#endif
}

// e4m3 bytes -> f16 bit patterns: sign to bit 15, exponent+mantissa to bits 7..13, then scale by
// 2^(15-7) to move from e4m3's exponent bias to f16's (subnormals map exactly too). Two bytes at
// bits 0..15 of `u` become two halves. The e4m3 NaN pattern (S.1111.111) decodes as +-480 instead;
// packers never emit it (weight_format.cpp saturates to +-448).
vec2 fp8_pair_unscaled(uint u) {
  const uint h = ((u & 0x80u) << 8) | ((u & 0x7Fu) << 7) | ((u & 0x8000u) << 16) | ((u & 0x7F00u) << 15);
  return unpackHalf2x16(h);
}
vec2 fp8_pair(uint u) { return fp8_pair_unscaled(u) * 256.0; }

float weight_at(WeightRef w, uint row, uint c, uint group) {
  const uint i = row * w.padded_cols + c;
#if FORMAT == 0
  return W_F32(w, i);
#elif FORMAT == 1
  return float(W_F16(w, i));
#elif FORMAT == 2
  const uint u = W_U32(w, i / 4);
  return float(bitfieldExtract(int(u), int(8 * (i % 4)), 8)) * group_scale(w, row, c, group);
#elif FORMAT == 3
  const uint u = W_U32(w, i / 8);
  return float(int((u >> (4 * (i % 8))) & 15u) - 8) * group_scale(w, row, c, group);
#elif FORMAT == 4
  const uint u = W_U32(w, i / 4) >> (8 * (i % 4));
  return fp8_pair(u & 0xFFu).x * group_scale(w, row, c, group);
#elif FORMAT == 5
  const uint64_t b = block_address(w, row, c / 32);
  const float d = unpackHalf2x16(block_u16(b, 0)).x;
  return float(bitfieldExtract(int(block_u8(b, 2 + c % 32)), 0, 8)) * d;
#elif FORMAT == 6
  const uint64_t b = block_address(w, row, c / 256);
  const uint ib = c % 256, sub = ib / 32;
  const uvec4 h = U32x4In(b).v[0];  // d|dmin, scales[12]
  const vec2 dm = unpackHalf2x16(h.x);
  const uvec2 sm = q4k_scale_min(h.yzw, sub);
  const uint q = (U32In(b + 16 + 32 * (sub / 2)).v[(ib % 32) / 4] >> (8 * (ib % 4) + 4 * (sub % 2))) & 15u;
  return dm.x * float(sm.x) * float(q) - dm.y * float(sm.y);
#else
  const uint64_t b = block_address(w, row, c / 256);
  const uint ib = c % 256, half_ = ib / 128, k = (ib % 128) / 32, l = ib % 32;
  const uint lo = (block_u8(b, 64 * half_ + l + 32 * (k % 2)) >> (4 * (k / 2))) & 15u;
  const uint hi = (block_u8(b, 128 + 32 * half_ + l) >> (2 * k)) & 3u;
  const float sc = float(bitfieldExtract(int(block_u8(b, 192 + 8 * half_ + 2 * k + l / 16)), 0, 8));
  return unpackHalf2x16(block_u16(b, 208)).x * sc * float(int(lo | (hi << 4)) - 32);
#endif
}

// The raw bits of CHUNK weights of `row` from column c0 (a multiple of CHUNK).
struct Chunk {
  u64vec2 a;
  u64vec2 b;
  float scale;
  float bias;  // q4_k: dmin * m, subtracted per weight (chunk_accumulate)
  vec2 sub;    // q6_k: the int8 scales of the chunk's two 16-weight halves
};

uvec4 words(u64vec2 q) { return uvec4(unpackUint2x32(q.x), unpackUint2x32(q.y)); }

Chunk load_chunk(WeightRef w, uint row, uint c0, uint group) {
  Chunk k;
  const uint i = row * w.padded_cols + c0;
#if FORMAT == 0
  k.a = W_V2(w, i / 4);
  k.b = W_V2(w, i / 4 + 1);
#elif FORMAT == 1
  k.a = W_V2(w, i / 8);
#elif FORMAT == 2
  k.a = W_V2(w, i / 16);
  k.b = W_V2(w, i / 16 + 1);
#elif FORMAT == 3
  k.a = W_V2(w, i / 32);
#elif FORMAT == 4
  k.a.x = W_U64(w, i / 8);
#endif
  k.bias = 0.0;
  k.sub = vec2(0.0);
#if FORMAT < 5
  k.scale = group_scale(w, row, c0, group);
#endif
#if FORMAT == 4
  k.scale *= 256.0;  // decode8 leaves fp8's exponent-bias factor to the chunk scale
#elif FORMAT == 5
  // One block: d, then the 32 int8 as 8 words (decoded as q8's). Blocks start 2 bytes apart from
  // 4-byte alignment every other block: 9 aligned 32-bit loads either way instead of 17 16-bit
  // ones (the last word of a 4-aligned block reaches 2 bytes into the next block or the tensor's
  // padding, never past the 4-byte word holding the tensor's last byte).
  const uint64_t b = block_address(w, row, c0 / 32);
  uint q[8];
  if ((b & 2UL) != 0) {
    k.scale = unpackHalf2x16(block_u16(b, 0)).x;
    for (uint n = 0; n < 8; ++n) q[n] = U32In(b + 2).v[n];
  } else {
    uint prev = U32In(b).v[0];
    k.scale = unpackHalf2x16(prev).x;
    for (uint n = 0; n < 8; ++n) {
      const uint next = U32In(b).v[n + 1];
      q[n] = (prev >> 16) | (next << 16);
      prev = next;
    }
  }
  k.a = u64vec2(packUint2x32(uvec2(q[0], q[1])), packUint2x32(uvec2(q[2], q[3])));
  k.b = u64vec2(packUint2x32(uvec2(q[4], q[5])), packUint2x32(uvec2(q[6], q[7])));
#elif FORMAT == 6
  // Sub-block s of a super-block: 32 bytes of qs hold it in their low (s even) or high nibbles.
  const uint64_t b = block_address(w, row, c0 / 256);
  const uint s = (c0 % 256) / 32;
  const uvec4 h = U32x4In(b).v[0];
  const vec2 dm = unpackHalf2x16(h.x);
  const uvec2 sm = q4k_scale_min(h.yzw, s);
  k.scale = dm.x * float(sm.x);
  k.bias = dm.y * float(sm.y);
  const uint64_t q = b + 16 + 32 * (s / 2);
  const uint64_t shift = 4 * (s % 2);
  // Keep only the sub-block's nibbles, 8 per 32-bit word in weight order (q4's layout): half the
  // registers per row, which the 16-rows-per-lane GEMV needs on CPU drivers.
  const u64vec2 lo = U64x2In(q).v[0] >> shift, hi = U64x2In(q).v[1] >> shift;
  k.a = u64vec2(packUint2x32(uvec2(nibbles8(lo.x), nibbles8(lo.y))), packUint2x32(uvec2(nibbles8(hi.x), nibbles8(hi.y))));
  k.b = u64vec2(0);
#elif FORMAT == 7
  // Quarter kq of half hf: 6-bit q = nibble of ql | 2 bits of qh << 4, packed one per byte.
  const uint64_t b = block_address(w, row, c0 / 256);
  const uint ib = c0 % 256, hf = ib / 128, kq = (ib % 128) / 32;
  const uint ql = 64 * hf + 32 * (kq % 2), qh = 128 + 32 * hf;
  uint q[8];
  for (uint n = 0; n < 8; ++n)
    q[n] = ((block_u32(b, ql + 4 * n) >> (4 * (kq / 2))) & 0x0F0F0F0Fu) | (((block_u32(b, qh + 4 * n) >> (2 * kq)) & 0x03030303u) << 4);
  k.a = u64vec2(packUint2x32(uvec2(q[0], q[1])), packUint2x32(uvec2(q[2], q[3])));
  k.b = u64vec2(packUint2x32(uvec2(q[4], q[5])), packUint2x32(uvec2(q[6], q[7])));
  const uint sc = block_u16(b, 192 + 8 * hf + 2 * kq);
  k.sub = vec2(float(bitfieldExtract(int(sc), 0, 8)), float(bitfieldExtract(int(sc), 8, 8)));
  k.scale = unpackHalf2x16(block_u16(b, 208)).x;
#endif
  return k;
}

// Four int8 as q + 128 (flipping each sign bit makes the bytes unsigned): callers subtract
// 128 * sum(x) once per chunk (Q_OFFSET) instead of sign-extending every byte.
vec4 q8_quad(uint u) {
  u ^= 0x80808080u;
  return vec4(float(u & 0xFFu), float((u >> 8) & 0xFFu), float((u >> 16) & 0xFFu), float(u >> 24));
}

// Four unsigned bytes.
vec4 byte_quad(uint u) {
  return vec4(float(u & 0xFFu), float((u >> 8) & 0xFFu), float((u >> 16) & 0xFFu), float(u >> 24));
}

// The stored nibbles q + 8, NOT re-centred: callers subtract 8 * sum(x) once per chunk
// (Q_OFFSET) instead of 8 per weight.
vec4 q4_quad(uint u) {
  return vec4(float(u & 15u), float((u >> 4) & 15u), float((u >> 8) & 15u), float((u >> 12) & 15u));
}

// Weights j*8 .. j*8+7 of the chunk as two vec4, WITHOUT the chunk's scale: callers sum
// q * x over the chunk and multiply by Chunk.scale once (CHUNK_SCALED).
void decode8(Chunk k, uint j, out vec4 lo, out vec4 hi) {
#if FORMAT == 0
  lo = uintBitsToFloat(words(k.a));
  hi = uintBitsToFloat(words(k.b));
#elif FORMAT == 1
  const uvec4 a = words(k.a);
  lo = vec4(unpackHalf2x16(a.x), unpackHalf2x16(a.y));
  hi = vec4(unpackHalf2x16(a.z), unpackHalf2x16(a.w));
#elif FORMAT == 2 || FORMAT == 5
  const uvec4 q = words(j < 2 ? k.a : k.b);
  const uvec2 pair = (j % 2) == 0 ? q.xy : q.zw;
  lo = q8_quad(pair.x);
  hi = q8_quad(pair.y);
#elif FORMAT == 6
  const uint u = words(k.a)[j];  // nibbles in weight order, as q4's (without its +8)
  lo = q4_quad(u);
  hi = q4_quad(u >> 16);
#elif FORMAT == 7
  // One unsigned 6-bit value per byte.
  const uvec4 q = words(j < 2 ? k.a : k.b);
  const uvec2 pair = (j % 2) == 0 ? q.xy : q.zw;
  lo = byte_quad(pair.x);
  hi = byte_quad(pair.y);
  const float sc = j < 2 ? k.sub.x : k.sub.y;  // weights 0..15 | 16..31 of the chunk
  lo = (lo - 32.0) * sc;
  hi = (hi - 32.0) * sc;
#elif FORMAT == 3
  const uint u = words(k.a)[j];
  lo = q4_quad(u);
  hi = q4_quad(u >> 16);
#elif FORMAT == 4
  const uvec2 u = unpackUint2x32(k.a.x);
  lo = vec4(fp8_pair_unscaled(u.x), fp8_pair_unscaled(u.x >> 16));
  hi = vec4(fp8_pair_unscaled(u.y), fp8_pair_unscaled(u.y >> 16));
#endif
}

// acc + the chunk's sum of w * x, given part = sum of decode8's values times x and xsum = sum of
// x (when CHUNK_XSUM). q8/q4/q8_0: scale * (part - Q_OFFSET * xsum); q4_k: w = scale * q - bias,
// so scale * part - bias * xsum; q6_k: decode8 applied the sub-scales, d multiplies once.
float chunk_accumulate(Chunk k, float part, float xsum, float acc) {
#if FORMAT == 6
  return fma(k.scale, part, fma(-k.bias, xsum, acc));
#else
  return CHUNK_SCALED ? fma(k.scale, fma(-Q_OFFSET, xsum, part), acc) : acc + part;
#endif
}
