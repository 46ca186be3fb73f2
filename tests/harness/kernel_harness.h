// Test harness for kernels: one Vulkan context per test executable (validation layer always on),
// seeded random inputs, device upload/download, and a comparison with the CPU reference that
// reports normalised MSE and max abs error against a per-format tolerance.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "vulkan/context.h"
#include "vulkan/kernels.h"

namespace r1vk::test {

// Error budgets, per storage/arithmetic format. nmse = sum((got-want)^2) / sum(want^2).
struct Tolerance {
  double nmse;
  double max_abs;
};

// f32 add: one rounding, identical on CPU and device.
inline constexpr Tolerance kTolF32Exact{1e-14, 1e-6};
// f32 with transcendental or reduced-precision ops (exp, inversesqrt: a few ULP in Vulkan).
inline constexpr Tolerance kTolF32Transcendental{1e-10, 1e-4};
// f16 weights x f32 activations, f32 accumulation: weights are exact on both sides, so only the
// summation order differs; the absolute budget grows with the row length.
Tolerance gemv_f16_tolerance(uint32_t cols);

struct Comparison {
  double nmse = 0;
  double max_abs = 0;
  size_t worst_index = 0;
  bool all_finite = true;
  bool within(const Tolerance& t) const { return all_finite && nmse <= t.nmse && max_abs <= t.max_abs; }
  std::string describe(const Tolerance& t) const;
};

Comparison compare(std::span<const float> got, std::span<const float> want);

// Uniform in [lo, hi), reproducible for a given seed.
std::vector<float> random_floats(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f);
std::vector<uint16_t> random_f16(size_t n, uint32_t seed, float lo = -1.0f, float hi = 1.0f);

// The shared context (validation on, in-memory pipeline cache). Fails the test when it cannot
// be created; never returns null.
vk::Context& context();
vk::Kernels& kernels();

// Validation errors since the context was created. Tests assert it stays 0.
uint64_t validation_errors();

Result<vk::Buffer> upload_new(std::span<const std::byte> data, const std::string& name);
template <typename T>
Result<vk::Buffer> upload_new(const std::vector<T>& v, const std::string& name) {
  return upload_new(std::as_bytes(std::span<const T>(v)), name);
}
Result<vk::Buffer> zeros(size_t bytes, const std::string& name);
Result<std::vector<float>> download_floats(const vk::Buffer& b, size_t count);

// Records `record` into a fresh command buffer, submits it and waits.
Status run(const std::function<Status(vk::CommandBuffer&)>& record);

}  // namespace r1vk::test
