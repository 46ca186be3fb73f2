// Three of ggml's block formats (llama.cpp's ggml-common.h layouts), decoded and encoded on the
// CPU: the plan formats q8_0 / q4_k / q6_k keep GGUF blocks verbatim (runtime/plan/weight_format.h)
// and the shaders decode the same bytes (shaders/weight_decode.glsl). Decoding follows ggml's
// reference dequantisation (dequantize_row_*), so it is what the GGUF import produces too.
//
//   Q8_0  32 values in 34 bytes: d (f16), qs[32] int8.                     x = d * q
//   Q4_K  256 values in 144 bytes: d, dmin (f16), scales[12] (eight 6-bit scale/min pairs),
//         qs[128]: values 64j..64j+31 are the low nibbles of qs[32j..32j+31] with pair 2j,
//         values 64j+32..64j+63 the high nibbles with pair 2j+1.      x = d * sc * q - dmin * m
//   Q6_K  256 values in 210 bytes: ql[128] (low 4 bits), qh[64] (high 2 bits), scales[16] int8
//         (one per 16 values), d (f16). In half h (128 values), value 32k + l (k = 0..3,
//         l = 0..31) takes nibble k / 2 of ql[64h + l + 32 (k % 2)] and bits 2k..2k+1 of
//         qh[32h + l], scale scales[8h + 2k + l / 16].              x = d * scale * (q - 32)
// The encoders are r1vk's own round-to-nearest quantisers (not ggml's search-based ones): they
// write valid blocks of the published layout, used by the test GGUF writer and by `pack_weight`.
#pragma once

#include <cstdint>

namespace r1vk::ggml {

inline constexpr int kQ8_0Values = 32, kQ8_0Bytes = 34;
inline constexpr int kQ4KValues = 256, kQ4KBytes = 144;
inline constexpr int kQ6KValues = 256, kQ6KBytes = 210;

// One block of `src` bytes -> its values in y (32 or 256 floats).
void decode_q8_0(const uint8_t* src, float* y);
void decode_q4_k(const uint8_t* src, float* y);
void decode_q6_k(const uint8_t* src, float* y);

// One block of values x -> its bytes in dst.
void encode_q8_0(const float* x, uint8_t* dst);
void encode_q4_k(const float* x, uint8_t* dst);
void encode_q6_k(const float* x, uint8_t* dst);

// Q4_K / Q5_K scale and min j (0..7) from the 12 packed bytes.
void k4_scale_min(const uint8_t* scales, int j, int& sc, int& m);

}  // namespace r1vk::ggml
