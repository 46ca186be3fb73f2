// Bit-exact conversions between f32 and the narrow formats checkpoints and plans store:
// IEEE binary16 (f16), bfloat16 (bf16) and float8_e4m3fn (fp8, MODEL_SPEC.md §3).
// Narrowing rounds to nearest, ties to even, as PyTorch and the GPU conversions do.
#pragma once

#include <cstdint>

namespace r1vk {

float f16_to_f32(uint16_t h);
uint16_t f32_to_f16(float f);  // overflow -> inf, NaN stays NaN

inline float bf16_to_f32(uint16_t b) {
  uint32_t bits = static_cast<uint32_t>(b) << 16;
  float f;
  __builtin_memcpy(&f, &bits, 4);
  return f;
}
uint16_t f32_to_bf16(float f);

// e4m3fn: 1 sign, 4 exponent bits (bias 7), 3 mantissa bits, no infinities, 0x7F/0xFF are NaN,
// largest finite 448, subnormals m/8 * 2^-6.
float fp8_e4m3_to_f32(uint8_t v);
uint8_t f32_to_fp8_e4m3(float f);  // saturates to +-448 (as torch's cast after clamp), NaN -> 0x7F

// The 256 values of fp8_e4m3_to_f32, indexed by the byte: loops over many bytes (checkpoint
// dequantisation, unpacking) read the table instead of calling the conversion per element.
const float* fp8_e4m3_table();

inline constexpr float kFp8E4m3Max = 448.0f;

}  // namespace r1vk
