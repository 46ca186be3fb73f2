#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <cstdio>
#include <random>
#include <vector>

#include "base/numeric_formats.h"
#include "plan/weight_format.h"

namespace r1vk {
namespace {

std::vector<float> gaussian(int64_t n, uint32_t seed) {
  std::mt19937 rng(seed);
  std::normal_distribution<float> d(0.0f, 0.02f);
  std::vector<float> v(static_cast<size_t>(n));
  for (float& x : v) x = d(rng);
  return v;
}

double round_trip_error(const std::vector<float>& w, int64_t rows, int64_t cols, WeightFormat f, int64_t group = 32) {
  auto p = pack_weight(w, rows, cols, f, group);
  REQUIRE(p.ok());
  const auto back = unpack_weight(*p);
  REQUIRE(back.size() == w.size());
  return normalized_mse(w, back);
}

// Tolerances (normalised MSE on N(0, 0.02) weights): f16 ~ 2^-22, q8 (absmax/127 per 32)
// ~ 2e-5, q4 per 32 ~ 7e-3, fp8 e4m3 with 128x128 absmax scales ~ 1e-3.
TEST_CASE("each format reproduces its weights within its stated error") {
  const int64_t rows = 67, cols = 300;  // neither a multiple of the group sizes nor of 128
  const auto w = gaussian(rows * cols, 11);
  const double e16 = round_trip_error(w, rows, cols, WeightFormat::kF16);
  const double e8 = round_trip_error(w, rows, cols, WeightFormat::kQ8);
  const double e4 = round_trip_error(w, rows, cols, WeightFormat::kQ4, 32);
  const double e4g = round_trip_error(w, rows, cols, WeightFormat::kQ4, 128);
  const double efp8 = round_trip_error(w, rows, cols, WeightFormat::kFp8);
  std::printf("normalised MSE: f16 %.3g q8 %.3g q4/32 %.3g q4/128 %.3g fp8 %.3g\n", e16, e8, e4, e4g, efp8);
  CHECK(round_trip_error(w, rows, cols, WeightFormat::kF32) == 0.0);
  CHECK(e16 < 1e-7);
  CHECK(e8 < 5e-5);
  CHECK(e4 < 1e-2);
  CHECK(e4g < 1.6e-2);
  CHECK(e4 < e4g);  // smaller groups track local magnitude better
  CHECK(efp8 < 2e-3);
  CHECK(e16 < e8);
  CHECK(e8 < efp8);
  CHECK(efp8 < e4);
}

TEST_CASE("q8 and q4 layouts are the documented byte layouts") {
  std::vector<float> w(40);
  for (int i = 0; i < 40; ++i) w[i] = static_cast<float>(i % 16 - 8);  // exactly representable in q4 with scale 1
  auto q4 = pack_weight(w, 1, 40, WeightFormat::kQ4, 32);
  REQUIRE(q4.ok());
  CHECK(q4->cols_padded() == 64);
  REQUIRE(q4->data.size() == 32u);
  REQUIRE(q4->scales.size() == 4u);
  // Elements 0 and 1 are -8 and -7: nibbles 0 and 1 -> byte 0x10.
  CHECK(q4->data[0] == 0x10);
  // Padding past column 40 is zero weight: nibble 8.
  CHECK(q4->data[31] == 0x88);
  uint16_t s;
  std::memcpy(&s, q4->scales.data(), 2);
  CHECK(f16_to_f32(s) == 1.0f);
  CHECK(unpack_weight(*q4) == w);

  auto q8 = pack_weight(w, 1, 40, WeightFormat::kQ8);
  REQUIRE(q8.ok());
  CHECK(q8->data.size() == 64u);
  CHECK(static_cast<int8_t>(q8->data[0]) == -127);  // -8 is the group's absmax
  CHECK(q8->data[40] == 0);
}

TEST_CASE("q8 rounds x / scale to the nearest integer, ties to even, as std::nearbyint") {
  // Scale 0.5 (absmax 63.5 = 127 * 0.5, exact in f16), so x / scale = 2x: the values below land
  // exactly on .5 ties, on both signs, plus ordinary values; the packer must agree with
  // std::nearbyint (the rounding the kernels' CPU reference and the docs state) on every one.
  std::vector<float> w(32);
  w[0] = 63.5f;
  for (int i = 1; i < 32; ++i) w[i] = (static_cast<float>(i % 16) - 7.75f) * (i % 2 ? 1.0f : -1.0f) * 1.5f;
  w[1] = 0.25f;    // 0.5  -> 0
  w[2] = 0.75f;    // 1.5  -> 2
  w[3] = -1.25f;   // -2.5 -> -2
  w[4] = -0.25f;   // -0.5 -> -0
  w[5] = 31.25f;   // 62.5 -> 62
  auto q8 = pack_weight(w, 1, 32, WeightFormat::kQ8);
  REQUIRE(q8.ok());
  uint16_t s;
  std::memcpy(&s, q8->scales.data(), 2);
  REQUIRE(f16_to_f32(s) == 0.5f);
  for (int i = 0; i < 32; ++i) {
    const float expect = std::fmin(127.0f, std::fmax(-127.0f, std::nearbyint(w[i] * 2.0f)));
    CHECK_MESSAGE(static_cast<int8_t>(q8->data[i]) == static_cast<int8_t>(expect), "column " << i);
  }
  CHECK(static_cast<int8_t>(q8->data[2]) == 2);
  CHECK(static_cast<int8_t>(q8->data[3]) == -2);
  CHECK(static_cast<int8_t>(q8->data[5]) == 62);
}

TEST_CASE("fp8 checkpoint weights pass through bit for bit") {
  const int64_t rows = 130, cols = 129;  // two partial blocks on each side
  std::vector<uint8_t> q(static_cast<size_t>(rows * cols));
  for (size_t i = 0; i < q.size(); ++i) q[i] = static_cast<uint8_t>(i * 37 % 126);  // finite codes
  std::vector<float> scale = {0.5f, 2.0f, 0.25f, 4.0f};
  auto p = pack_fp8_checkpoint(q, scale, rows, cols);
  REQUIRE(p.ok());
  CHECK(p->data == q);
  const auto w = unpack_weight(*p);
  CHECK(w[0] == fp8_e4m3_to_f32(q[0]) * 0.5f);
  CHECK(w[128] == fp8_e4m3_to_f32(q[128]) * 2.0f);
  CHECK(w[128 * cols] == fp8_e4m3_to_f32(q[128 * cols]) * 0.25f);
  CHECK(w[129 * cols + 128] == fp8_e4m3_to_f32(q[129 * cols + 128]) * 4.0f);

  auto bad = pack_fp8_checkpoint(q, std::vector<float>(3), rows, cols);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message() == "fp8 weight [130, 129] needs 4 block scales");
}

TEST_CASE("bad requests are refused with a reason") {
  std::vector<float> w(10);
  auto r = pack_weight(w, 3, 4, WeightFormat::kQ8);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message() == "weight holds 10 values, shape needs 12");
  auto g = pack_weight(w, 2, 5, WeightFormat::kQ4, 64);
  REQUIRE_FALSE(g.ok());
  CHECK(g.error().message() == "q4 group size must be 32 or 128, got 64");
  auto f = parse_weight_format("q3");
  REQUIRE_FALSE(f.ok());
  CHECK(parse_weight_format("fp8").value() == WeightFormat::kFp8);
}

TEST_CASE("all-zero groups and blocks stay zero") {
  std::vector<float> w(256, 0.0f);
  for (WeightFormat f : {WeightFormat::kQ8, WeightFormat::kQ4, WeightFormat::kFp8}) {
    auto p = pack_weight(w, 2, 128, f);
    REQUIRE(p.ok());
    for (float v : unpack_weight(*p)) CHECK(v == 0.0f);
  }
}

}  // namespace
}  // namespace r1vk

namespace r1vk {
namespace {

// The GGUF block formats (q8_0, q4_k, q6_k): r1vk's own quantisers write valid blocks whose
// error is that of the format (q8_0 ~ q8; q6_k between q8 and q4; q4_k, with a min per 32
// values, close to q4/32), the bytes are whole blocks with no scales blob, and wrapping existing
// blocks keeps them bit for bit.
TEST_CASE("q8_0, q4_k and q6_k pack GGUF blocks") {
  const int64_t rows = 5, cols = 512;
  auto w = gaussian(rows * cols, 21);
  for (int64_t i = 0; i < rows * cols; ++i) w[static_cast<size_t>(i)] += 0.01f * static_cast<float>(i % 3);  // uneven ranges
  const double e8 = round_trip_error(w, rows, cols, WeightFormat::kQ8_0);
  const double e6 = round_trip_error(w, rows, cols, WeightFormat::kQ6K);
  const double e4 = round_trip_error(w, rows, cols, WeightFormat::kQ4K);
  std::printf("normalised MSE: q8_0 %.3g q6_k %.3g q4_k %.3g\n", e8, e6, e4);
  CHECK(e8 < 5e-5);
  CHECK(e6 < 1e-3);
  CHECK(e4 < 1.2e-2);
  CHECK(e8 < e6);
  CHECK(e6 < e4);
  for (WeightFormat f : {WeightFormat::kQ8_0, WeightFormat::kQ4K, WeightFormat::kQ6K}) {
    CAPTURE(weight_format_name(f));
    CHECK(parse_weight_format(weight_format_name(f)).value() == f);
    auto p = pack_weight(w, rows, cols, f);
    REQUIRE(p.ok());
    CHECK(p->group == ggml_block_values(f));
    CHECK(p->scales.empty());
    CHECK(static_cast<int64_t>(p->data.size()) == rows * cols / ggml_block_values(f) * ggml_block_bytes(f));
    CHECK(packed_data_bytes(f, rows, cols, p->group).value() == p->data.size());
    CHECK(packed_scale_bytes(f, rows, cols, p->group).value() == 0u);
    auto kept = pack_ggml_blocks(f, p->data, rows, cols);
    REQUIRE(kept.ok());
    CHECK(kept->data == p->data);
    CHECK(unpack_weight(*kept) == unpack_weight(*p));
    // Rows must be whole blocks, blobs the exact size, the group the block size.
    CHECK_FALSE(pack_weight(std::vector<float>(static_cast<size_t>(rows * 48)), rows, 48, f).ok());
    CHECK_FALSE(pack_ggml_blocks(f, std::span<const uint8_t>(p->data).first(p->data.size() - 2), rows, cols).ok());
    CHECK_FALSE(packed_data_bytes(f, rows, cols + 16, p->group).ok());
    CHECK_FALSE(packed_data_bytes(f, rows, cols, 128).ok());
  }
  CHECK(ggml_block_bytes(WeightFormat::kQ8_0) == 34);
  CHECK(ggml_block_bytes(WeightFormat::kQ4K) == 144);
  CHECK(ggml_block_bytes(WeightFormat::kQ6K) == 210);
}

// A q4_k block built by hand from the published layout (d, dmin, 6-bit scale/min pairs, nibbles):
// sub-block 5 (a pair stored in the high bits, j >= 4) with sc 37 and m 45, q = 9.
TEST_CASE("q4_k decodes a hand-built block") {
  std::vector<uint8_t> b(144, 0);
  const uint16_t d = f32_to_f16(0.5f), dmin = f32_to_f16(0.25f);
  std::memcpy(b.data(), &d, 2);
  std::memcpy(b.data() + 2, &dmin, 2);
  // j = 5: sc = (s[9] & 15) | (s[1] >> 6) << 4 = 37 -> s[9] low 5, s[1] top 2 bits = 2;
  //        m  = (s[9] >> 4) | (s[5] >> 6) << 4 = 45 -> s[9] high 13, s[5] top 2 bits = 2.
  b[4 + 9] = static_cast<uint8_t>(5 | (13 << 4));
  b[4 + 1] = static_cast<uint8_t>(2 << 6);
  b[4 + 5] = static_cast<uint8_t>(2 << 6);
  // Sub-block 5 = high nibbles of qs[64..95] (pass j = 2); value 160 + 3 is qs[67] >> 4.
  b[16 + 67] = static_cast<uint8_t>(9 << 4);
  auto p = pack_ggml_blocks(WeightFormat::kQ4K, b, 1, 256);
  REQUIRE(p.ok());
  const auto w = unpack_weight(*p);
  CHECK(w[163] == 0.5f * 37 * 9 - 0.25f * 45);
  CHECK(w[162] == -0.25f * 45);  // q = 0 in the same sub-block
  CHECK(w[0] == 0.0f);           // sub-block 0: sc = m = 0
}

// The q4 scale search as first written: each candidate scale tried in turn over the group. The
// packer tries them side by side; the bytes must not change.
void reference_q4_group(const float* x, int n, int8_t* q, float& scale_out) {
  float m = 0.0f;
  for (int i = 0; i < n; ++i)
    if (std::fabs(x[i]) > std::fabs(m)) m = x[i];
  if (m == 0.0f) {
    for (int i = 0; i < n; ++i) q[i] = 0;
    scale_out = 0.0f;
    return;
  }
  float best_err = INFINITY, best_scale = 0.0f;
  for (int step = 0; step <= 8; ++step) {
    const float scale = f16_to_f32(f32_to_f16(m / (-8.0f + 0.125f * static_cast<float>(step))));
    if (scale == 0.0f || !std::isfinite(scale)) continue;
    float err = 0.0f;
    for (int i = 0; i < n; ++i) {
      const float qi = std::clamp(std::nearbyint(x[i] * (1.0f / scale)), -8.0f, 7.0f);
      const float d = qi * scale - x[i];
      err += d * d;
    }
    if (err < best_err) {
      best_err = err;
      best_scale = scale;
    }
  }
  scale_out = best_scale;
  for (int i = 0; i < n; ++i) q[i] = static_cast<int8_t>(std::clamp(std::nearbyint(x[i] * (1.0f / best_scale)), -8.0f, 7.0f));
}

TEST_CASE("q4 packs the bytes of the one-scale-at-a-time search") {
  const int64_t rows = 16, cols = 200;  // cols not a multiple of the group: a padded last group
  std::vector<float> w = gaussian(rows * cols, 11);
  w[3] = 0.0f;
  w[cols + 5] = std::ldexp(1.0f, -30);                 // tiny values: scales near f16's subnormals
  for (int64_t c = 64; c < 96; ++c) w[2 * cols + c] = 0.0f;  // an all-zero group
  for (int64_t c = 0; c < 32; ++c) w[3 * cols + c] = std::ldexp(1.0f, -26) * static_cast<float>(c % 5);
  for (int64_t group : {32, 128}) {
    auto p = pack_weight(w, rows, cols, WeightFormat::kQ4, group);
    REQUIRE(p.ok());
    const int64_t cp = p->cols_padded(), groups = cp / group;
    std::vector<float> buf(static_cast<size_t>(group));
    std::vector<int8_t> q(static_cast<size_t>(group));
    for (int64_t r = 0; r < rows; ++r) {
      for (int64_t g = 0; g < groups; ++g) {
        for (int64_t i = 0; i < group; ++i) buf[i] = g * group + i < cols ? w[r * cols + g * group + i] : 0.0f;
        float scale = 0.0f;
        reference_q4_group(buf.data(), static_cast<int>(group), q.data(), scale);
        uint16_t stored;
        std::memcpy(&stored, p->scales.data() + 2 * (r * groups + g), 2);
        REQUIRE(stored == f32_to_f16(scale));
        for (int64_t i = 0; i < group; i += 2) {
          const uint8_t byte = p->data[static_cast<size_t>((r * cp + g * group + i) / 2)];
          REQUIRE((byte & 0xF) == q[i] + 8);
          REQUIRE((byte >> 4) == q[i + 1] + 8);
        }
      }
    }
  }
}

TEST_CASE("error sums against a packed weight equal those against its unpacked copy, bit for bit") {
  const int64_t rows = 130, cols = 256;  // two fp8 block rows, the second partial
  const std::vector<float> w = gaussian(rows * cols, 5);
  for (WeightFormat f : {WeightFormat::kF32, WeightFormat::kF16, WeightFormat::kQ8, WeightFormat::kQ4, WeightFormat::kFp8,
                         WeightFormat::kQ8_0, WeightFormat::kQ4K, WeightFormat::kQ6K}) {
    CAPTURE(weight_format_name(f));
    auto p = pack_weight(w, rows, cols, f, 32);
    REQUIRE(p.ok());
    const SquaredErrorSums whole = squared_error_sums(w, unpack_weight(*p));
    const SquaredErrorSums rows_at_a_time = squared_error_sums(w, *p);
    CHECK(whole.error == rows_at_a_time.error);
    CHECK(whole.reference == rows_at_a_time.reference);
  }
}

}  // namespace
}  // namespace r1vk
