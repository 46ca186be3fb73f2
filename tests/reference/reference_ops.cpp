#include "reference/reference_ops.h"

#include "import/rope_frequencies.h"

#include <algorithm>
#include <cassert>
#include <cmath>

namespace r1vk::ref {

void rmsnorm(std::span<const float> x, std::span<const float> weight, float eps, std::span<float> y) {
  assert(x.size() == weight.size() && x.size() == y.size());
  double ss = 0.0;
  for (float v : x) ss += static_cast<double>(v) * v;
  const float inv = static_cast<float>(1.0 / std::sqrt(ss / static_cast<double>(x.size()) + eps));
  for (size_t i = 0; i < x.size(); ++i) y[i] = x[i] * inv * weight[i];
}

float silu(float x) { return x / (1.0f + std::exp(-x)); }

void swiglu(std::span<const float> gate, std::span<const float> up, std::span<float> out) {
  assert(gate.size() == up.size() && gate.size() == out.size());
  for (size_t i = 0; i < gate.size(); ++i) out[i] = silu(gate[i]) * up[i];
}

void add(std::span<const float> a, std::span<const float> b, std::span<float> out) {
  assert(a.size() == b.size() && a.size() == out.size());
  for (size_t i = 0; i < a.size(); ++i) out[i] = a[i] + b[i];
}

void matvec(std::span<const float> w, int64_t rows, int64_t cols, std::span<const float> x, std::span<float> y) {
  assert(static_cast<int64_t>(w.size()) == rows * cols && static_cast<int64_t>(x.size()) == cols);
  assert(static_cast<int64_t>(y.size()) == rows);
  for (int64_t r = 0; r < rows; ++r) {
    const float* row = w.data() + r * cols;
    double acc = 0.0;
    for (int64_t c = 0; c < cols; ++c) acc += static_cast<double>(row[c]) * x[c];
    y[r] = static_cast<float>(acc);
  }
}

void softmax(std::span<float> x) {
  if (x.empty()) return;
  const float mx = *std::max_element(x.begin(), x.end());
  double sum = 0.0;
  for (float& v : x) {
    v = std::exp(v - mx);
    sum += v;
  }
  for (float& v : x) v = static_cast<float>(v / sum);
}

std::vector<double> rope_frequencies(const RopeScaling& scaling, double theta, int64_t dim) {
  return rope_math::frequencies(scaling, theta, dim);
}

double rope_magnitude(const RopeScaling& scaling) { return rope_math::magnitude(scaling); }

void apply_rope(std::span<float> x, std::span<const double> freqs, int64_t pos, RopeStyle style, double magnitude) {
  const size_t half = freqs.size();
  assert(x.size() == 2 * half);
  for (size_t i = 0; i < half; ++i) {
    const double angle = static_cast<double>(pos) * freqs[i];
    const double c = std::cos(angle) * magnitude, s = std::sin(angle) * magnitude;
    const size_t a = style == RopeStyle::kInterleaved ? 2 * i : i;
    const size_t b = style == RopeStyle::kInterleaved ? 2 * i + 1 : i + half;
    const double xa = x[a], xb = x[b];
    x[a] = static_cast<float>(xa * c - xb * s);
    x[b] = static_cast<float>(xa * s + xb * c);
  }
}

double mla_softmax_scale(const ModelConfig& config) { return rope_math::mla_softmax_scale(config); }

}  // namespace r1vk::ref
