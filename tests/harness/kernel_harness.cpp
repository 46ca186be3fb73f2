#include "harness/kernel_harness.h"

#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <memory>
#include <random>

#include "base/numeric_formats.h"
#include "vulkan/transfer.h"

namespace r1vk::test {

Tolerance gemv_f16_tolerance(uint32_t cols) {
  // f32 accumulation error grows ~ sqrt(n) * eps * |partial sums|; inputs are in [-1, 1].
  return {1e-9, 2e-5 * std::sqrt(static_cast<double>(cols)) + 1e-5};
}

std::string Comparison::describe(const Tolerance& t) const {
  char buf[256];
  std::snprintf(buf, sizeof buf, "nmse %.3g (tolerance %.3g), max abs %.3g at [%zu] (tolerance %.3g)%s", nmse, t.nmse,
                max_abs, worst_index, t.max_abs, all_finite ? "" : ", NON-FINITE output");
  return buf;
}

Comparison compare(std::span<const float> got, std::span<const float> want) {
  Comparison c;
  if (got.size() != want.size()) {
    c.all_finite = false;
    return c;
  }
  double err = 0, ref = 0;
  for (size_t i = 0; i < got.size(); ++i) {
    if (!std::isfinite(got[i])) c.all_finite = false;
    const double d = static_cast<double>(got[i]) - want[i];
    err += d * d;
    ref += static_cast<double>(want[i]) * want[i];
    if (std::abs(d) > c.max_abs || std::isnan(d)) {
      c.max_abs = std::isnan(d) ? INFINITY : std::abs(d);
      c.worst_index = i;
    }
  }
  // All-zero reference: fall back to the plain MSE so an exact zero result still passes.
  c.nmse = ref > 0 ? err / ref : err / std::max<size_t>(got.size(), 1);
  return c;
}

std::vector<float> random_floats(size_t n, uint32_t seed, float lo, float hi) {
  std::mt19937 rng(seed);
  std::uniform_real_distribution<float> dist(lo, hi);
  std::vector<float> v(n);
  for (auto& x : v) x = dist(rng);
  return v;
}

std::vector<uint16_t> random_f16(size_t n, uint32_t seed, float lo, float hi) {
  const auto f = random_floats(n, seed, lo, hi);
  std::vector<uint16_t> h(n);
  for (size_t i = 0; i < n; ++i) h[i] = f32_to_f16(f[i]);
  return h;
}

namespace {

struct Shared {
  std::unique_ptr<vk::Context> ctx;
  std::unique_ptr<vk::Kernels> kernels;
};

Shared& shared() {
  static Shared s = [] {
    Shared out;
    vk::ContextOptions options;
    options.validation = true;  // every Vulkan test runs under the Khronos validation layer
    options.disk_pipeline_cache = false;
    auto ctx = vk::Context::create(options);
    if (!ctx.ok()) {
      std::fprintf(stderr, "cannot create the Vulkan test context: %s\n", ctx.error().message().c_str());
      return out;
    }
    out.ctx = std::move(ctx).value();
    out.kernels = std::make_unique<vk::Kernels>(*out.ctx);
    return out;
  }();
  return s;
}

}  // namespace

vk::Context& context() {
  Shared& s = shared();
  REQUIRE_MESSAGE(s.ctx != nullptr, "Vulkan context could not be created (see stderr)");
  return *s.ctx;
}

vk::Kernels& kernels() {
  context();
  return *shared().kernels;
}

uint64_t validation_errors() { return context().validation_errors(); }

Result<vk::Buffer> upload_new(std::span<const std::byte> data, const std::string& name) {
  R1VK_ASSIGN_OR_RETURN(auto b, context().create_buffer(data.size(), vk::MemoryUsage::kDeviceLocal, name));
  R1VK_TRY(vk::upload(context(), b, 0, data));
  return b;
}

Result<vk::Buffer> zeros(size_t bytes, const std::string& name) {
  std::vector<std::byte> z(bytes);
  return upload_new(std::span<const std::byte>(z), name);
}

Result<std::vector<float>> download_floats(const vk::Buffer& b, size_t count) {
  std::vector<float> out(count);
  R1VK_TRY(vk::download_span(context(), b, std::span<float>(out)));
  return out;
}

Status run(const std::function<Status(vk::CommandBuffer&)>& record) {
  R1VK_ASSIGN_OR_RETURN(auto cmd, context().create_command_buffer());
  R1VK_TRY(cmd.begin());
  R1VK_TRY(record(cmd));
  R1VK_TRY(cmd.end());
  return context().submit_and_wait(cmd);
}

}  // namespace r1vk::test
