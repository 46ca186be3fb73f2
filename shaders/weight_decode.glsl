// Reading packed weights (runtime/plan/weight_format.h) in the matrix kernels. FORMAT is set by
// the variant table: 0 f32, 1 f16, 2 q8, 3 q4, 4 fp8 (the WeightFormat enum values).
//
// Two access paths:
//   weight_at(w, row, c)      one weight, any shape (tails of rows, unaligned rows, embed);
//   load_chunk / decode8      a chunk of CHUNK weights starting at a multiple of CHUNK, read with
//                             16-byte loads and decoded 8 at a time (SUBCHUNKS per chunk). Legal
//                             only where the host said rows are aligned (WEIGHT_VEC == 1).
// The spec constant GROUP is the format's group (q8 32, q4 32/128, fp8 128; unused otherwise).
// q8/q4 rows are padded to GROUP columns (padded_cols), f32/f16/fp8 rows are not.
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require

#ifndef FORMAT
#error "FORMAT must be set by the variant table"
#endif

// Chunks are read as 64-bit words: a CPU driver turns each per-lane load into one scalar load
// per 32/64-bit component, so 64-bit components halve the load count (docs/decisions.md).
layout(buffer_reference, std430, buffer_reference_align = 16) readonly buffer U64x2In { u64vec2 v[]; };
layout(buffer_reference, std430, buffer_reference_align = 8) readonly buffer U64In1 { uint64_t v[]; };

// Whether decode8's values still need Chunk.scale, and the offset q8/q4 values carry.
const bool CHUNK_SCALED = FORMAT >= 2;
const float Q_OFFSET = FORMAT == 3 ? 8.0 : (FORMAT == 2 ? 128.0 : 0.0);
#if FORMAT == 2 || FORMAT == 3
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
  uint scale_cols;   // q8/q4: scales per row; fp8: 128-column blocks per row
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
  w.scale_cols = (FORMAT == 4) ? (cols + 127) / 128 : w.padded_cols / max(group, 1u);
  return w;
}

float group_scale(WeightRef w, uint row, uint c, uint group) {
#if FORMAT == 2 || FORMAT == 3
  return float(F16In(w.scales).v[row * w.scale_cols + c / group]);
#elif FORMAT == 4
  return F32In(w.scales).v[(row / 128) * w.scale_cols + c / 128];
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
  return F32In(w.data).v[i];
#elif FORMAT == 1
  return float(F16In(w.data).v[i]);
#elif FORMAT == 2
  const uint u = U32In(w.data).v[i / 4];
  return float(bitfieldExtract(int(u), int(8 * (i % 4)), 8)) * group_scale(w, row, c, group);
#elif FORMAT == 3
  const uint u = U32In(w.data).v[i / 8];
  return float(int((u >> (4 * (i % 8))) & 15u) - 8) * group_scale(w, row, c, group);
#else
  const uint u = U32In(w.data).v[i / 4] >> (8 * (i % 4));
  return fp8_pair(u & 0xFFu).x * group_scale(w, row, c, group);
#endif
}

// The raw bits of CHUNK weights of `row` from column c0 (a multiple of CHUNK).
struct Chunk {
  u64vec2 a;
  u64vec2 b;
  float scale;
};

uvec4 words(u64vec2 q) { return uvec4(unpackUint2x32(q.x), unpackUint2x32(q.y)); }

Chunk load_chunk(WeightRef w, uint row, uint c0, uint group) {
  Chunk k;
  const uint i = row * w.padded_cols + c0;
#if FORMAT == 0
  k.a = U64x2In(w.data).v[i / 4];
  k.b = U64x2In(w.data).v[i / 4 + 1];
#elif FORMAT == 1
  k.a = U64x2In(w.data).v[i / 8];
#elif FORMAT == 2
  k.a = U64x2In(w.data).v[i / 16];
  k.b = U64x2In(w.data).v[i / 16 + 1];
#elif FORMAT == 3
  k.a = U64x2In(w.data).v[i / 32];
#else
  k.a.x = U64In1(w.data).v[i / 8];
#endif
  k.scale = group_scale(w, row, c0, group);
#if FORMAT == 4
  k.scale *= 256.0;  // decode8 leaves fp8's exponent-bias factor to the chunk scale
#endif
  return k;
}

// Four int8 as q + 128 (flipping each sign bit makes the bytes unsigned): callers subtract
// 128 * sum(x) once per chunk (Q_OFFSET) instead of sign-extending every byte.
vec4 q8_quad(uint u) {
  u ^= 0x80808080u;
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
#elif FORMAT == 2
  const uvec4 q = words(j < 2 ? k.a : k.b);
  const uvec2 pair = (j % 2) == 0 ? q.xy : q.zw;
  lo = q8_quad(pair.x);
  hi = q8_quad(pair.y);
#elif FORMAT == 3
  const uint u = words(k.a)[j];
  lo = q4_quad(u);
  hi = q4_quad(u >> 16);
#else
  const uvec2 u = unpackUint2x32(k.a.x);
  lo = vec4(fp8_pair_unscaled(u.x), fp8_pair_unscaled(u.x >> 16));
  hi = vec4(fp8_pair_unscaled(u.y), fp8_pair_unscaled(u.y >> 16));
#endif
}
