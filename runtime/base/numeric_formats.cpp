#include "base/numeric_formats.h"

#include <array>
#include <cmath>
#include <cstring>

namespace r1vk {
namespace {

uint32_t bits_of(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

float float_of(uint32_t u) {
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

}  // namespace

float f16_to_f32(uint16_t h) {
  const uint32_t sign = static_cast<uint32_t>(h & 0x8000u) << 16;
  const uint32_t exp = (h >> 10) & 0x1Fu;
  const uint32_t man = h & 0x3FFu;
  if (exp == 0) {
    // Zero or subnormal: man * 2^-24, exact in f32.
    const float v = std::ldexp(static_cast<float>(man), -24);
    return sign ? -v : v;
  }
  if (exp == 0x1F) return float_of(sign | 0x7F800000u | (man << 13));
  return float_of(sign | ((exp + 112u) << 23) | (man << 13));
}

uint16_t f32_to_f16(float f) {
  const uint32_t u = bits_of(f);
  const uint16_t sign = static_cast<uint16_t>((u >> 16) & 0x8000u);
  const uint32_t abs = u & 0x7FFFFFFFu;
  if (abs > 0x7F800000u) return static_cast<uint16_t>(sign | 0x7E00u);  // NaN
  if (abs >= 0x477FF000u) return static_cast<uint16_t>(sign | 0x7C00u);  // rounds past 65504
  if (abs < 0x38800000u) {
    // Result is subnormal in f16 (|f| < 2^-14): scale so rounding happens at the f16 ulp 2^-24.
    const float scaled = float_of(abs) * 16777216.0f;  // * 2^24, exact
    const float r = std::nearbyint(scaled);              // default rounding mode: ties to even
    return static_cast<uint16_t>(sign | static_cast<uint16_t>(r));
  }
  // Normal: drop 13 mantissa bits with round-to-nearest-even; a carry into the exponent is right.
  const uint32_t rounded = abs + 0x0FFFu + ((abs >> 13) & 1u);
  return static_cast<uint16_t>(sign | ((rounded - 0x38000000u) >> 13));
}

uint16_t f32_to_bf16(float f) {
  const uint32_t u = bits_of(f);
  if ((u & 0x7FFFFFFFu) > 0x7F800000u) return static_cast<uint16_t>((u >> 16) | 0x40u);  // quiet NaN
  const uint32_t rounded = u + 0x7FFFu + ((u >> 16) & 1u);
  return static_cast<uint16_t>(rounded >> 16);
}

float fp8_e4m3_to_f32(uint8_t v) {
  const bool neg = (v & 0x80u) != 0;
  const uint32_t exp = (v >> 3) & 0xFu;
  const uint32_t man = v & 0x7u;
  float r;
  if (exp == 0xF && man == 0x7) {
    r = std::nanf("");
  } else if (exp == 0) {
    r = static_cast<float>(man) * (1.0f / 512.0f);  // m/8 * 2^-6, exact
  } else {
    r = float_of(((exp + 120u) << 23) | (man << 20));  // 2^(exp-7) * (1 + m/8): rebias 7 -> 127
  }
  return neg ? -r : r;
}

const float* fp8_e4m3_table() {
  static const std::array<float, 256> table = [] {
    std::array<float, 256> t{};
    for (int v = 0; v < 256; ++v) t[static_cast<size_t>(v)] = fp8_e4m3_to_f32(static_cast<uint8_t>(v));
    return t;
  }();
  return table.data();
}

// Bit operations instead of frexp/ldexp/nearbyint (library calls per element, most of the time of
// writing FP8 checkpoints and fp8 plans); the same results, ties to even.
uint8_t f32_to_fp8_e4m3(float f) {
  const uint32_t u = bits_of(f);
  const uint8_t sign = (u & 0x80000000u) != 0 ? 0x80 : 0x00;
  const uint32_t abs = u & 0x7FFFFFFFu;
  if (abs > 0x7F800000u) return 0x7F;                                  // NaN
  if (abs >= 0x43E00000u) return static_cast<uint8_t>(sign | 0x7E);   // |f| >= 448: saturate
  if (abs < 0x3C800000u) {
    // Subnormal range (|f| < 2^-6): multiples of 2^-9. |f| * 512 < 8 is exact, and adding and
    // removing 1.5 * 2^23 rounds it to the nearest integer, ties to even (q == 8 is the smallest normal).
    constexpr float kShift = 12582912.0f;
    const float q = (float_of(abs) * 512.0f + kShift) - kShift;
    return static_cast<uint8_t>(sign | static_cast<uint8_t>(q));
  }
  // Normal: keep 3 of the 23 mantissa bits, round to nearest even (a carry into the exponent is
  // right), then rebias the exponent from 127 to 7. |f| < 448 never rounds past 448 (0x7E).
  const uint32_t rounded = abs + 0x7FFFFu + ((abs >> 20) & 1u);
  return static_cast<uint8_t>(sign | ((rounded >> 20) - (120u << 3)));
}

}  // namespace r1vk
