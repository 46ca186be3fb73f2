#include "import/rope_frequencies.h"

#include <algorithm>
#include <cmath>
#include <numbers>

namespace r1vk::rope_math {
namespace {

// Dimension index at which the rotation count over the original context equals `rotations`.
double yarn_correction_dim(double rotations, int64_t dim, double base, double orig) {
  return static_cast<double>(dim) * std::log(orig / (rotations * 2.0 * std::numbers::pi)) / (2.0 * std::log(base));
}

}  // namespace

double yarn_mscale(double scale, double mscale) {
  if (scale <= 1.0) return 1.0;
  return 0.1 * mscale * std::log(scale) + 1.0;
}

std::vector<double> frequencies(const RopeScaling& s, double theta, int64_t dim) {
  const int64_t half = dim / 2;
  std::vector<double> f(static_cast<size_t>(half));
  for (int64_t i = 0; i < half; ++i) f[i] = std::pow(theta, -2.0 * static_cast<double>(i) / static_cast<double>(dim));
  const double orig = static_cast<double>(s.original_max_position_embeddings);
  if (s.type == RopeScalingType::kYarn) {
    const double low = std::max(std::floor(yarn_correction_dim(s.beta_fast, dim, theta, orig)), 0.0);
    double high = std::min(std::ceil(yarn_correction_dim(s.beta_slow, dim, theta, orig)), static_cast<double>(dim - 1));
    if (low == high) high += 0.001;
    for (int64_t i = 0; i < half; ++i) {
      const double ramp = std::clamp((static_cast<double>(i) - low) / (high - low), 0.0, 1.0);
      f[i] = f[i] / s.factor * ramp + f[i] * (1.0 - ramp);
    }
  } else if (s.type == RopeScalingType::kLlama3 && !s.freq_divisors.empty()) {
    for (int64_t i = 0; i < half && i < static_cast<int64_t>(s.freq_divisors.size()); ++i) f[i] /= s.freq_divisors[i];
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

double magnitude(const RopeScaling& s) {
  if (s.type != RopeScalingType::kYarn) return 1.0;
  return yarn_mscale(s.factor, s.mscale) / yarn_mscale(s.factor, s.mscale_all_dim);
}

double mla_softmax_scale(const ModelConfig& config) {
  const double d = static_cast<double>(config.mla.qk_nope_head_dim + config.mla.qk_rope_head_dim);
  double scale = 1.0 / std::sqrt(d);
  if (config.rope_scaling.type == RopeScalingType::kYarn) {
    const double m = yarn_mscale(config.rope_scaling.factor, config.rope_scaling.mscale_all_dim);
    scale *= m * m;
  }
  return scale;
}

}  // namespace r1vk::rope_math
