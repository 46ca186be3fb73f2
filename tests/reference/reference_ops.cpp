#include "reference/reference_ops.h"

#include <algorithm>
#include <cassert>
#include <cmath>
#include <numbers>

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

namespace {

// Dimension index where the rotation count over the original context equals `rotations`.
double yarn_correction_dim(double rotations, int64_t dim, double base, double orig) {
  return static_cast<double>(dim) * std::log(orig / (rotations * 2.0 * std::numbers::pi)) / (2.0 * std::log(base));
}

double yarn_get_mscale(double scale, double mscale) {
  if (scale <= 1.0) return 1.0;
  return 0.1 * mscale * std::log(scale) + 1.0;
}

}  // namespace

std::vector<double> rope_frequencies(const RopeScaling& s, double theta, int64_t dim) {
  const int64_t half = dim / 2;
  std::vector<double> f(static_cast<size_t>(half));
  for (int64_t i = 0; i < half; ++i) f[i] = std::pow(theta, -2.0 * static_cast<double>(i) / static_cast<double>(dim));
  const double orig = static_cast<double>(s.original_max_position_embeddings);
  if (s.type == RopeScalingType::kYarn) {
    double low = std::max(std::floor(yarn_correction_dim(s.beta_fast, dim, theta, orig)), 0.0);
    double high = std::min(std::ceil(yarn_correction_dim(s.beta_slow, dim, theta, orig)), static_cast<double>(dim - 1));
    if (low == high) high += 0.001;
    for (int64_t i = 0; i < half; ++i) {
      const double ramp = std::clamp((static_cast<double>(i) - low) / (high - low), 0.0, 1.0);
      f[i] = f[i] / s.factor * ramp + f[i] * (1.0 - ramp);
    }
  } else if (s.type == RopeScalingType::kLlama3) {
    const double low_wl = orig / s.low_freq_factor;
    const double high_wl = orig / s.high_freq_factor;
    for (int64_t i = 0; i < half; ++i) {
      const double wl = 2.0 * std::numbers::pi / f[i];
      if (wl < high_wl) continue;
      if (wl > low_wl) {
        f[i] = f[i] / s.factor;
      } else {
        const double smooth = (orig / wl - s.low_freq_factor) / (s.high_freq_factor - s.low_freq_factor);
        f[i] = (1.0 - smooth) * f[i] / s.factor + smooth * f[i];
      }
    }
  }
  return f;
}

double rope_magnitude(const RopeScaling& s) {
  if (s.type != RopeScalingType::kYarn) return 1.0;
  return yarn_get_mscale(s.factor, s.mscale) / yarn_get_mscale(s.factor, s.mscale_all_dim);
}

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

double mla_softmax_scale(const ModelConfig& config) {
  const double d = static_cast<double>(config.mla.qk_nope_head_dim + config.mla.qk_rope_head_dim);
  double scale = 1.0 / std::sqrt(d);
  if (config.rope_scaling.type == RopeScalingType::kYarn) {
    const double m = yarn_get_mscale(config.rope_scaling.factor, config.rope_scaling.mscale_all_dim);
    scale *= m * m;
  }
  return scale;
}

}  // namespace r1vk::ref
