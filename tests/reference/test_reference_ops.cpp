#include <doctest/doctest.h>

#include <cmath>
#include <vector>

#include "reference/reference_ops.h"

namespace r1vk::ref {
namespace {

RopeScaling r1_yarn() {
  RopeScaling s;
  s.type = RopeScalingType::kYarn;
  s.factor = 40;
  s.original_max_position_embeddings = 4096;
  s.beta_fast = 32;
  s.beta_slow = 1;
  s.mscale = 1.0;
  s.mscale_all_dim = 1.0;
  return s;
}

TEST_CASE("MLA softmax scale matches MODEL_SPEC for R1 and V2-Lite") {
  ModelConfig r1;
  r1.mla.qk_nope_head_dim = 128;
  r1.mla.qk_rope_head_dim = 64;
  r1.rope_scaling = r1_yarn();
  CHECK(mla_softmax_scale(r1) == doctest::Approx(0.1352338).epsilon(1e-6));

  ModelConfig lite = r1;
  lite.rope_scaling.mscale = 0.707;
  lite.rope_scaling.mscale_all_dim = 0.707;
  CHECK(mla_softmax_scale(lite) == doctest::Approx(0.1147214).epsilon(1e-6));
  CHECK(rope_magnitude(lite.rope_scaling) == 1.0);
}

TEST_CASE("YaRN ramp for R1 spans dims 10..23") {
  const auto base = rope_frequencies(RopeScaling{}, 10000, 64);
  const auto f = rope_frequencies(r1_yarn(), 10000, 64);
  REQUIRE(f.size() == 32);
  for (int i = 0; i <= 10; ++i) CHECK(f[i] == doctest::Approx(base[i]));           // ramp 0: unchanged
  for (int i = 23; i < 32; ++i) CHECK(f[i] == doctest::Approx(base[i] / 40.0));    // ramp 1: interpolated
  const double ramp = (16.0 - 10.0) / (23.0 - 10.0);
  CHECK(f[16] == doctest::Approx(base[16] / 40.0 * ramp + base[16] * (1 - ramp)));
}

TEST_CASE("llama3 scaling keeps high frequencies and divides low ones") {
  RopeScaling s;
  s.type = RopeScalingType::kLlama3;
  s.factor = 8;
  s.low_freq_factor = 1;
  s.high_freq_factor = 4;
  s.original_max_position_embeddings = 8192;
  const auto base = rope_frequencies(RopeScaling{}, 500000, 128);
  const auto f = rope_frequencies(s, 500000, 128);
  CHECK(f[0] == base[0]);
  CHECK(f[63] == doctest::Approx(base[63] / 8));
}

TEST_CASE("rope styles rotate different pairs") {
  std::vector<float> x = {1, 0, 0, 0};
  std::vector<double> freqs = {1.0, 0.0};
  auto a = x;
  apply_rope(a, freqs, 1, RopeStyle::kInterleaved, 1.0);  // rotates (x0, x1)
  CHECK(a[0] == doctest::Approx(std::cos(1.0)));
  CHECK(a[1] == doctest::Approx(std::sin(1.0)));
  CHECK(a[2] == 0.0f);
  auto b = x;
  apply_rope(b, freqs, 1, RopeStyle::kNeox, 1.0);  // rotates (x0, x2)
  CHECK(b[0] == doctest::Approx(std::cos(1.0)));
  CHECK(b[1] == 0.0f);
  CHECK(b[2] == doctest::Approx(std::sin(1.0)));
}

TEST_CASE("rmsnorm and swiglu on a hand-computed case") {
  std::vector<float> x = {3, 4}, w = {1, 2}, y(2);
  rmsnorm(x, w, 0.0f, y);
  const float inv = 1.0f / std::sqrt(12.5f);
  CHECK(y[0] == doctest::Approx(3 * inv));
  CHECK(y[1] == doctest::Approx(8 * inv));
  std::vector<float> g = {0, 1}, u = {5, 2}, o(2);
  swiglu(g, u, o);
  CHECK(o[0] == 0.0f);
  CHECK(o[1] == doctest::Approx(2.0 / (1.0 + std::exp(-1.0))));
}

}  // namespace
}  // namespace r1vk::ref
