// ggml block decoding against blocks built byte by byte from the published layouts
// (ggml-common.h). The expected values are computed here per element from the layout's
// description (which byte, which bits, which scale), not by the decoder's loops. Scales are
// powers of two so every expected value is exact in f32.
#include <doctest/doctest.h>

#include <cstdint>
#include <cstring>
#include <vector>

#include "import/gguf_dequantize.h"

namespace r1vk {
namespace {

// Deterministic filler bytes.
std::vector<uint8_t> pattern(size_t n, uint32_t seed) {
  std::vector<uint8_t> out(n);
  uint32_t x = seed;
  for (auto& b : out) {
    x = x * 1664525u + 1013904223u;
    b = static_cast<uint8_t>(x >> 24);
  }
  return out;
}

void put_f16(std::vector<uint8_t>& b, size_t at, uint16_t h) { std::memcpy(b.data() + at, &h, 2); }

constexpr uint16_t kHalf = 0x3800;     // 0.5
constexpr uint16_t kQuarter = 0x3400;  // 0.25
constexpr uint16_t kTwo = 0x4000;      // 2.0
constexpr uint16_t kMinusOne = 0xBC00; // -1.0

std::vector<float> decode(GgmlType t, const std::vector<uint8_t>& block, size_t n) {
  std::vector<float> y(n);
  const Status s = dequantize_ggml(t, block, y);
  REQUIRE_MESSAGE(s.ok(), s.error().message());
  return y;
}

void check_all(const std::vector<float>& got, const std::vector<float>& want) {
  REQUIRE(got.size() == want.size());
  for (size_t k = 0; k < got.size(); ++k) {
    INFO("element " << k);
    CHECK(got[k] == want[k]);
  }
}

TEST_CASE("F32, F16 and BF16") {
  std::vector<uint8_t> f16 = {0x00, 0x3C, 0x00, 0xC0, 0x01, 0x00};  // 1, -2, smallest subnormal
  check_all(decode(GgmlType::kF16, f16, 3), {1.0f, -2.0f, 5.9604645e-8f});
  std::vector<uint8_t> bf16 = {0x80, 0x3F, 0x40, 0xC0};  // 1, -3
  check_all(decode(GgmlType::kBF16, bf16, 2), {1.0f, -3.0f});
  std::vector<uint8_t> f32(8);
  const float v[2] = {3.5f, -0.0f};
  std::memcpy(f32.data(), v, 8);
  check_all(decode(GgmlType::kF32, f32, 2), {3.5f, -0.0f});
}

TEST_CASE("Q8_0: d, then 32 int8; x = q * d") {
  auto b = pattern(34, 1);
  put_f16(b, 0, kHalf);
  std::vector<float> want(32);
  for (int k = 0; k < 32; ++k) want[k] = static_cast<float>(static_cast<int8_t>(b[2 + k])) * 0.5f;
  check_all(decode(GgmlType::kQ8_0, b, 32), want);
}

TEST_CASE("Q4_0 and Q4_1: element k < 16 is the low nibble of qs[k], k >= 16 the high nibble of qs[k-16]") {
  auto b = pattern(18, 2);
  put_f16(b, 0, kTwo);
  std::vector<float> want(32);
  for (int k = 0; k < 32; ++k) {
    const int q = k < 16 ? (b[2 + k] & 15) : (b[2 + k - 16] >> 4);
    want[k] = static_cast<float>(q - 8) * 2.0f;
  }
  check_all(decode(GgmlType::kQ4_0, b, 32), want);

  auto c = pattern(20, 3);
  put_f16(c, 0, kQuarter);
  put_f16(c, 2, kMinusOne);
  for (int k = 0; k < 32; ++k) {
    const int q = k < 16 ? (c[4 + k] & 15) : (c[4 + k - 16] >> 4);
    want[k] = static_cast<float>(q) * 0.25f - 1.0f;
  }
  check_all(decode(GgmlType::kQ4_1, c, 32), want);
}

TEST_CASE("Q5_0 and Q5_1: bit k of the little-endian u32 qh is the fifth bit of element k") {
  auto b = pattern(22, 4);
  put_f16(b, 0, kHalf);
  std::vector<float> want(32);
  for (int k = 0; k < 32; ++k) {
    const int low = k < 16 ? (b[6 + k] & 15) : (b[6 + k - 16] >> 4);
    const int high = (b[2 + k / 8] >> (k % 8)) & 1;  // byte k/8 of qh, bit k%8
    want[k] = static_cast<float>((low | (high << 4)) - 16) * 0.5f;
  }
  check_all(decode(GgmlType::kQ5_0, b, 32), want);

  auto c = pattern(24, 5);
  put_f16(c, 0, kTwo);
  put_f16(c, 2, kQuarter);
  for (int k = 0; k < 32; ++k) {
    const int low = k < 16 ? (c[8 + k] & 15) : (c[8 + k - 16] >> 4);
    const int high = (c[4 + k / 8] >> (k % 8)) & 1;
    want[k] = static_cast<float>(low | (high << 4)) * 2.0f + 0.25f;
  }
  check_all(decode(GgmlType::kQ5_1, c, 32), want);
}

TEST_CASE("Q2_K: 16 groups of 16, 4-bit scale and min per group, 2-bit values in bit planes") {
  auto b = pattern(84, 6);
  put_f16(b, 80, kHalf);      // d
  put_f16(b, 82, kQuarter);   // dmin
  std::vector<float> want(256);
  for (int k = 0; k < 256; ++k) {
    const int half = k / 128, pass = (k % 128) / 32, l = k % 32;
    const int group = k / 16;
    const int q = (b[16 + 32 * half + l] >> (2 * pass)) & 3;
    const int sc = b[group] & 15, m = b[group] >> 4;
    want[k] = 0.5f * static_cast<float>(sc) * static_cast<float>(q) - 0.25f * static_cast<float>(m);
  }
  // The decoder computes (d * sc) * q - dmin * m; with these powers of two both orders are exact.
  check_all(decode(GgmlType::kQ2_K, b, 256), want);
}

TEST_CASE("Q3_K: 6-bit signed group scales packed in 12 bytes, high bit from hmask") {
  auto b = pattern(110, 7);
  int scale[16];
  for (int i = 0; i < 16; ++i) scale[i] = (i * 11 + 5) % 64;  // 6-bit values, stored with an offset of 32
  // Pack: low nibbles of scales 0-7 in bytes 0-7, of 8-15 in their high nibbles; the top two
  // bits of scale i go to byte 8 + i % 4 at bit 2 * (i / 4).
  uint8_t* s = b.data() + 96;
  std::memset(s, 0, 12);
  for (int i = 0; i < 16; ++i) {
    s[i % 8] |= static_cast<uint8_t>((scale[i] & 15) << (i < 8 ? 0 : 4));
    s[8 + i % 4] |= static_cast<uint8_t>((scale[i] >> 4) << (2 * (i / 4)));
  }
  put_f16(b, 108, kHalf);
  std::vector<float> want(256);
  for (int k = 0; k < 256; ++k) {
    const int half = k / 128, pass = (k % 128) / 32, l = k % 32;
    const int q = (b[32 + 32 * half + l] >> (2 * pass)) & 3;
    const int hbit = (b[l] >> (4 * half + pass)) & 1;
    want[k] = 0.5f * static_cast<float>(scale[k / 16] - 32) * static_cast<float>(q - (hbit ? 0 : 4));
  }
  check_all(decode(GgmlType::kQ3_K, b, 256), want);
}

// Q4_K / Q5_K: eight (scale, min) pairs of 6 bits in 12 bytes: pairs 0-3 in the low 6 bits of
// bytes 0-3 (scale) and 4-7 (min); pairs 4-7 keep their low nibbles in bytes 8-11 (scale low,
// min high) and their top two bits in the top bits of bytes 0-3 (scale) and 4-7 (min).
void pack_k4(uint8_t* s, const int* sc, const int* m) {
  std::memset(s, 0, 12);
  for (int j = 0; j < 4; ++j) {
    s[j] = static_cast<uint8_t>(sc[j] | ((sc[j + 4] >> 4) << 6));
    s[j + 4] = static_cast<uint8_t>(m[j] | ((m[j + 4] >> 4) << 6));
    s[j + 8] = static_cast<uint8_t>((sc[j + 4] & 15) | ((m[j + 4] & 15) << 4));
  }
}

TEST_CASE("Q4_K and Q5_K: 8 sub-blocks of 32 with 6-bit scales and mins") {
  const int sc[8] = {1, 63, 17, 32, 40, 5, 60, 33};
  const int mn[8] = {0, 7, 63, 20, 48, 31, 2, 59};
  auto b = pattern(144, 8);
  put_f16(b, 0, kHalf);
  put_f16(b, 2, kQuarter);
  pack_k4(b.data() + 4, sc, mn);
  std::vector<float> want(256);
  for (int k = 0; k < 256; ++k) {
    const int chunk = k / 64, high = (k % 64) / 32, l = k % 32;
    const int pair = 2 * chunk + high;
    const uint8_t byte = b[16 + 32 * chunk + l];
    const int q = high ? byte >> 4 : byte & 15;
    want[k] = 0.5f * static_cast<float>(sc[pair]) * static_cast<float>(q) - 0.25f * static_cast<float>(mn[pair]);
  }
  check_all(decode(GgmlType::kQ4_K, b, 256), want);

  auto c = pattern(176, 9);
  put_f16(c, 0, kQuarter);
  put_f16(c, 2, kTwo);
  pack_k4(c.data() + 4, sc, mn);
  for (int k = 0; k < 256; ++k) {
    const int chunk = k / 64, high = (k % 64) / 32, l = k % 32;
    const int pair = 2 * chunk + high;
    const uint8_t byte = c[48 + 32 * chunk + l];
    const int q = (high ? byte >> 4 : byte & 15) | (((c[16 + l] >> pair) & 1) << 4);
    want[k] = 0.25f * static_cast<float>(sc[pair]) * static_cast<float>(q) - 2.0f * static_cast<float>(mn[pair]);
  }
  check_all(decode(GgmlType::kQ5_K, c, 256), want);
}

TEST_CASE("Q6_K: 4 low bits in ql, 2 high bits in qh, int8 scale per 16 values, offset 32") {
  auto b = pattern(210, 10);
  put_f16(b, 208, kQuarter);
  std::vector<float> want(256);
  for (int k = 0; k < 256; ++k) {
    const int half = k / 128, quarter = (k % 128) / 32, l = k % 32;
    const uint8_t lo_byte = b[64 * half + l + 32 * (quarter % 2)];
    const int low = quarter >= 2 ? lo_byte >> 4 : lo_byte & 15;
    const int hi = (b[128 + 32 * half + l] >> (2 * quarter)) & 3;
    const int scale = static_cast<int8_t>(b[192 + k / 16]);
    want[k] = 0.25f * static_cast<float>(scale) * static_cast<float>((low | (hi << 4)) - 32);
  }
  check_all(decode(GgmlType::kQ6_K, b, 256), want);
}

TEST_CASE("sizes are checked and undecodable types are refused by name") {
  std::vector<float> y(32);
  CHECK_FALSE(dequantize_ggml(GgmlType::kQ8_0, std::vector<uint8_t>(33), y).ok());
  std::vector<float> odd(31);
  CHECK_FALSE(dequantize_ggml(GgmlType::kQ8_0, std::vector<uint8_t>(34), odd).ok());
  std::vector<float> z(256);
  const Status s = dequantize_ggml(GgmlType::kIQ2_XXS, std::vector<uint8_t>(66), z);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().code() == ErrorCode::kUnsupported);
  CHECK(s.error().message().find("IQ2_XXS") != std::string::npos);
}

}  // namespace
}  // namespace r1vk
