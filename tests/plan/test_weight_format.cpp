#include <doctest/doctest.h>

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
