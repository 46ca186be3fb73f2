#include <doctest/doctest.h>

#include <cmath>
#include <cstring>
#include <limits>
#include <random>

#include "base/numeric_formats.h"

namespace r1vk {
namespace {

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

TEST_CASE("f16: every non-NaN code survives f16 -> f32 -> f16") {
  for (uint32_t h = 0; h < 65536; ++h) {
    const bool is_nan = ((h >> 10) & 0x1F) == 0x1F && (h & 0x3FF) != 0;
    const float f = f16_to_f32(static_cast<uint16_t>(h));
    if (is_nan) {
      CHECK(std::isnan(f));
      continue;
    }
    REQUIRE(f32_to_f16(f) == h);
  }
}

TEST_CASE("f16: known values and round-to-nearest-even") {
  CHECK(f32_to_f16(1.0f) == 0x3C00);
  CHECK(f32_to_f16(-2.0f) == 0xC000);
  CHECK(f32_to_f16(65504.0f) == 0x7BFF);
  CHECK(f32_to_f16(65519.0f) == 0x7BFF);
  CHECK(f32_to_f16(65520.0f) == 0x7C00);  // tie between 65504 and 65536 rounds to even: inf
  CHECK(f32_to_f16(1.0f + std::ldexp(1.0f, -11)) == 0x3C00);      // tie -> even
  CHECK(f32_to_f16(1.0f + 3 * std::ldexp(1.0f, -11)) == 0x3C02);  // tie -> even
  CHECK(f32_to_f16(std::ldexp(1.0f, -24)) == 0x0001);
  CHECK(f32_to_f16(std::ldexp(1.0f, -25)) == 0x0000);             // tie -> even (0)
  CHECK(f32_to_f16(3 * std::ldexp(1.0f, -25)) == 0x0002);
  CHECK(f32_to_f16(std::ldexp(1.0f, -14)) == 0x0400);
  CHECK(std::isnan(f16_to_f32(f32_to_f16(std::nanf("")))));
}

TEST_CASE("f16: random floats round to the nearest representable value") {
  std::mt19937 rng(1234);
  std::uniform_real_distribution<float> dist(-70000.0f, 70000.0f);
  for (int i = 0; i < 20000; ++i) {
    const float f = dist(rng) * std::ldexp(1.0f, -static_cast<int>(rng() % 30));
    const uint16_t h = f32_to_f16(f);
    const float r = f16_to_f32(h);
    if (std::isinf(r)) {
      CHECK(std::fabs(f) >= 65520.0f);
      continue;
    }
    // Neighbours of h must not be closer to f.
    const float up = f16_to_f32(static_cast<uint16_t>(h + 1));
    const float err = std::fabs(r - f);
    if (!std::isinf(up) && !std::isnan(up) && (h & 0x7FFF) != 0x7BFF) CHECK(err <= std::fabs(up - f));
    if ((h & 0x7FFF) != 0) CHECK(err <= std::fabs(f16_to_f32(static_cast<uint16_t>(h - 1)) - f));
  }
}

TEST_CASE("bf16: truncation with round-to-nearest-even") {
  CHECK(f32_to_bf16(1.0f) == 0x3F80);
  float tie_even, tie_odd;
  const uint32_t a = 0x3F808000u, b = 0x3F818000u;
  std::memcpy(&tie_even, &a, 4);
  std::memcpy(&tie_odd, &b, 4);
  CHECK(f32_to_bf16(tie_even) == 0x3F80);
  CHECK(f32_to_bf16(tie_odd) == 0x3F82);
  for (uint32_t v = 0; v < 65536; v += 7) {
    const float f = bf16_to_f32(static_cast<uint16_t>(v));
    if (std::isnan(f)) continue;
    CHECK(f32_to_bf16(f) == v);
    CHECK((bits(f) & 0xFFFF) == 0);
  }
}

TEST_CASE("fp8 e4m3fn: code table facts from MODEL_SPEC") {
  CHECK(fp8_e4m3_to_f32(0x00) == 0.0f);
  CHECK(fp8_e4m3_to_f32(0x38) == 1.0f);
  CHECK(fp8_e4m3_to_f32(0x7E) == 448.0f);
  CHECK(fp8_e4m3_to_f32(0xFE) == -448.0f);
  CHECK(fp8_e4m3_to_f32(0x08) == std::ldexp(1.0f, -6));      // smallest normal
  CHECK(fp8_e4m3_to_f32(0x01) == std::ldexp(1.0f, -9));      // smallest subnormal, 1/8 * 2^-6
  CHECK(fp8_e4m3_to_f32(0x07) == 7 * std::ldexp(1.0f, -9));
  CHECK(std::isnan(fp8_e4m3_to_f32(0x7F)));
  CHECK(std::isnan(fp8_e4m3_to_f32(0xFF)));
  CHECK(fp8_e4m3_to_f32(0x77) == 240.0f);  // exponent 14: 1.875 * 2^7
}

TEST_CASE("fp8 e4m3fn: every finite code round-trips and encoding picks the nearest code") {
  for (int c = 0; c < 256; ++c) {
    const float f = fp8_e4m3_to_f32(static_cast<uint8_t>(c));
    if (std::isnan(f)) continue;
    if (c == 0x80) {
      CHECK(f32_to_fp8_e4m3(f) == 0x80);  // -0 keeps its sign
      continue;
    }
    REQUIRE(f32_to_fp8_e4m3(f) == c);
  }
  std::mt19937 rng(99);
  std::uniform_real_distribution<float> dist(-500.0f, 500.0f);
  for (int i = 0; i < 20000; ++i) {
    const float f = dist(rng) * std::ldexp(1.0f, -static_cast<int>(rng() % 14));
    const float got = fp8_e4m3_to_f32(f32_to_fp8_e4m3(f));
    const float clamped = std::fmax(-448.0f, std::fmin(448.0f, f));
    float best = 1e30f;
    for (int c = 0; c < 256; ++c) {
      const float v = fp8_e4m3_to_f32(static_cast<uint8_t>(c));
      if (!std::isnan(v)) best = std::fmin(best, std::fabs(v - clamped));
    }
    REQUIRE(std::fabs(got - clamped) == best);
  }
  CHECK(f32_to_fp8_e4m3(1000.0f) == 0x7E);   // saturates
  CHECK(f32_to_fp8_e4m3(-1000.0f) == 0xFE);
  CHECK(f32_to_fp8_e4m3(std::ldexp(1.0f, -10)) == 0x00);       // tie between 0 and 2^-9 -> even
  CHECK(f32_to_fp8_e4m3(3 * std::ldexp(1.0f, -10)) == 0x02);   // tie -> even
  CHECK(f32_to_fp8_e4m3(std::nanf("")) == 0x7F);
}

TEST_CASE("fp8 e4m3fn: ties between normal codes go to the even code; the table is the conversion") {
  CHECK(f32_to_fp8_e4m3(1.0625f) == 0x38);    // between 1 (0x38) and 1.125 (0x39): even
  CHECK(f32_to_fp8_e4m3(1.1875f) == 0x3A);    // between 1.125 and 1.25 (0x3A): even
  CHECK(f32_to_fp8_e4m3(-1.1875f) == 0xBA);
  CHECK(f32_to_fp8_e4m3(432.0f) == 0x7E);     // between 416 (0x7D) and 448 (0x7E)
  CHECK(f32_to_fp8_e4m3(447.99f) == 0x7E);
  CHECK(f32_to_fp8_e4m3(std::ldexp(15.5f, -10)) == 0x08);  // 2^-6 - 2^-10 rounds up to the smallest normal
  CHECK(f32_to_fp8_e4m3(std::ldexp(1.0f, -6)) == 0x08);
  CHECK(f32_to_fp8_e4m3(std::numeric_limits<float>::infinity()) == 0x7E);
  CHECK(f32_to_fp8_e4m3(-std::numeric_limits<float>::infinity()) == 0xFE);
  CHECK(f32_to_fp8_e4m3(std::numeric_limits<float>::denorm_min()) == 0x00);
  const float* table = fp8_e4m3_table();
  for (int c = 0; c < 256; ++c) {
    const float f = fp8_e4m3_to_f32(static_cast<uint8_t>(c));
    CHECK(std::memcmp(&table[c], &f, 4) == 0);
    // The arithmetic definition: (8 + m) * 2^(e - 10) for e > 0, m * 2^-9 for e = 0.
    const int e = (c >> 3) & 0xF, m = c & 7;
    if (e == 0xF && m == 7) continue;
    const float want = (c & 0x80 ? -1.0f : 1.0f) * (e == 0 ? std::ldexp(static_cast<float>(m), -9)
                                                           : std::ldexp(static_cast<float>(8 + m), e - 10));
    CHECK(f == want);
  }
}

}  // namespace
}  // namespace r1vk
