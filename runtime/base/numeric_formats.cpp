#include "base/numeric_formats.h"

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
    r = std::ldexp(static_cast<float>(man), -9);  // m/8 * 2^-6
  } else {
    r = std::ldexp(static_cast<float>(8 + man), static_cast<int>(exp) - 7 - 3);
  }
  return neg ? -r : r;
}

uint8_t f32_to_fp8_e4m3(float f) {
  if (std::isnan(f)) return 0x7F;
  const uint8_t sign = std::signbit(f) ? 0x80 : 0x00;
  float a = std::fabs(f);
  if (a >= kFp8E4m3Max) return static_cast<uint8_t>(sign | 0x7E);  // 448
  if (a < std::ldexp(1.0f, -6)) {
    // Subnormal range: multiples of 2^-9, round to nearest even.
    const float q = std::nearbyint(a * 512.0f);
    return static_cast<uint8_t>(sign | static_cast<uint8_t>(q));  // q == 8 is the smallest normal
  }
  int e;
  std::frexp(a, &e);  // a = m * 2^e, m in [0.5, 1)
  const int exp_unbiased = e - 1;  // a in [2^exp, 2^(exp+1))
  const float step = std::ldexp(1.0f, exp_unbiased - 3);
  const float q = std::nearbyint(a / step);  // in [8, 16]
  uint32_t biased = static_cast<uint32_t>(exp_unbiased + 7);
  uint32_t man = static_cast<uint32_t>(q) - 8;
  if (man == 8) {
    man = 0;
    ++biased;
  }
  if (biased > 15 || (biased == 15 && man == 7)) return static_cast<uint8_t>(sign | 0x7E);
  return static_cast<uint8_t>(sign | (biased << 3) | man);
}

}  // namespace r1vk
