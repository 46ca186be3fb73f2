// The plain CPU oracle: each op written directly from MODEL_SPEC.md in f32 (f64 where a sum is
// long), with no layout tricks. Kernels and the compiled forward pass are compared against it.
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "import/model_config.h"

namespace r1vk::ref {

// y = x / sqrt(mean(x^2) + eps) * weight
void rmsnorm(std::span<const float> x, std::span<const float> weight, float eps, std::span<float> y);

float silu(float x);
// out[i] = silu(gate[i]) * up[i]
void swiglu(std::span<const float> gate, std::span<const float> up, std::span<float> out);
// out[i] = a[i] + b[i]
void add(std::span<const float> a, std::span<const float> b, std::span<float> out);

// y[r] = sum_c w[r * cols + c] * x[c]   (w row-major [rows, cols], as nn.Linear stores it)
void matvec(std::span<const float> w, int64_t rows, int64_t cols, std::span<const float> x, std::span<float> y);

// In-place numerically stable softmax.
void softmax(std::span<float> x);

// Per-pair rotary frequencies f_i (i = 0..dim/2-1) with the config's scaling applied
// (none, YaRN or llama3; MODEL_SPEC.md §2).
std::vector<double> rope_frequencies(const RopeScaling& scaling, double theta, int64_t dim);

// YaRN's cos/sin magnitude get_mscale(factor, mscale) / get_mscale(factor, mscale_all_dim);
// 1 without YaRN.
double rope_magnitude(const RopeScaling& scaling);

// Rotates x (length 2 * freqs.size()) in place for position pos.
void apply_rope(std::span<float> x, std::span<const double> freqs, int64_t pos, RopeStyle style, double magnitude);

// DeepSeek softmax scale (dn+dr)^-0.5 * m^2 with m = 0.1 * mscale_all_dim * ln(factor) + 1 under YaRN.
double mla_softmax_scale(const ModelConfig& config);

}  // namespace r1vk::ref
