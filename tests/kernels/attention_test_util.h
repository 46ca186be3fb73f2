// Shared setup of the attention-family kernel tests: one PipelineSet/AttentionKernels on the
// harness context (validation on), device buffers kept alive for a test, views over them, and
// the per-step StepParams buffer.
#pragma once

#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <deque>
#include <string>
#include <vector>

#include "harness/kernel_harness.h"
#include "kernels/attention_kernels.h"
#include "kernels/pipeline_set.h"
#include "vulkan/transfer.h"

namespace r1vk::test {

inline kernels::AttentionKernels& attention_kernels() {
  static kernels::PipelineSet set(context());
  static kernels::AttentionKernels k(set);
  return k;
}

// Device buffers of one test case; addresses stay valid while the pool lives.
class BufferPool {
 public:
  template <typename T>
  const vk::Buffer& upload(const std::vector<T>& v, const std::string& name) {
    auto b = upload_new(v, name);
    REQUIRE_MESSAGE(b.ok(), (b.ok() ? "" : b.error().message()));
    return buffers_.emplace_back(std::move(*b));
  }
  const vk::Buffer& zeros(size_t bytes, const std::string& name) {
    auto b = test::zeros(std::max<size_t>(bytes, 16), name);
    REQUIRE_MESSAGE(b.ok(), (b.ok() ? "" : b.error().message()));
    return buffers_.emplace_back(std::move(*b));
  }
  kernels::StepView step(const kernels::StepParams& p, uint32_t max_tokens) {
    return {upload(kernels::encode_step(p), "step").address(), max_tokens};
  }

 private:
  std::deque<vk::Buffer> buffers_;
};

inline kernels::ActView view(const vk::Buffer& b, uint32_t cols, uint32_t row_stride, uint32_t col_offset = 0) {
  return {b.address() + 4ull * col_offset, row_stride, cols};
}

template <typename T>
std::vector<T> download_as(const vk::Buffer& b, size_t count) {
  std::vector<T> out(count);
  auto st = vk::download_span(context(), b, std::span<T>(out));
  REQUIRE_MESSAGE(st.ok(), (st.ok() ? "" : st.error().message()));
  return out;
}

inline void run_ok(const std::function<Status(vk::CommandBuffer&)>& record) {
  auto st = run(record);
  REQUIRE_MESSAGE(st.ok(), (st.ok() ? "" : st.error().message()));
}

inline void check_close(const std::vector<float>& got, const std::vector<float>& want, const Tolerance& tol) {
  const Comparison c = compare(got, want);
  INFO(c.describe(tol));
  CHECK(c.within(tol));
}

// The rope table the executor builds: f64 angles, f32 (cos, sin) * magnitude, [pos][pair].
inline std::vector<float> rope_table(const std::vector<double>& freqs, uint32_t max_context, double magnitude) {
  std::vector<float> t(size_t{max_context} * freqs.size() * 2);
  for (uint32_t pos = 0; pos < max_context; ++pos)
    for (size_t i = 0; i < freqs.size(); ++i) {
      const double a = static_cast<double>(pos) * freqs[i];
      t[(pos * freqs.size() + i) * 2] = static_cast<float>(std::cos(a) * magnitude);
      t[(pos * freqs.size() + i) * 2 + 1] = static_cast<float>(std::sin(a) * magnitude);
    }
  return t;
}

}  // namespace r1vk::test
