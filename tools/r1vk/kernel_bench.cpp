#include "kernel_bench.h"

#include <algorithm>
#include <cmath>
#include <vector>

#include <sys/resource.h>

#include "base/numeric_formats.h"
#include "vulkan/query_pool.h"
#include "vulkan/transfer.h"

namespace r1vk::cli {
namespace {

// Cheap deterministic fill (the bench fills ~100 MB; std::mt19937 would dominate the run).
uint32_t next_random(uint64_t& state) {
  state = state * 6364136223846793005ull + 1442695040888963407ull;
  return static_cast<uint32_t>(state >> 33);
}
float uniform_pm1(uint64_t& state) { return static_cast<float>(next_random(state)) / 2147483648.0f - 1.0f; }

double process_cpu_ms() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto ms = [](const timeval& t) { return t.tv_sec * 1e3 + t.tv_usec / 1e3; };
  return ms(u.ru_utime) + ms(u.ru_stime);
}

}  // namespace

Result<TimingStats> time_dispatches(vk::Context& ctx, int iters,
                                    const std::function<Status(vk::CommandBuffer&)>& record) {
  R1VK_ASSIGN_OR_RETURN(auto pool, vk::TimestampQueryPool::create(ctx.device(), static_cast<uint32_t>(2 * iters)));
  R1VK_ASSIGN_OR_RETURN(auto cmd, ctx.create_command_buffer());
  R1VK_TRY(cmd.begin());
  cmd.reset_queries(pool);
  for (int i = 0; i < iters; ++i) {
    cmd.compute_barrier();
    cmd.write_timestamp(pool, static_cast<uint32_t>(2 * i));
    R1VK_TRY(record(cmd));
    cmd.write_timestamp(pool, static_cast<uint32_t>(2 * i + 1));
  }
  R1VK_TRY(cmd.end());
  const double cpu_before = process_cpu_ms();
  R1VK_TRY(ctx.submit_and_wait(cmd));
  const double cpu_ms = (process_cpu_ms() - cpu_before) / iters;
  R1VK_ASSIGN_OR_RETURN(auto ns, pool.read_ns());
  std::vector<double> ms;
  for (int i = 0; i < iters; ++i) ms.push_back((ns[2 * i + 1] - ns[2 * i]) / 1e6);
  std::sort(ms.begin(), ms.end());
  return TimingStats{ms[ms.size() / 2], ms.front(), cpu_ms};
}

Result<TimingStats> bench_copy(vk::Context& ctx, vk::Kernels& kernels, uint64_t bytes, int iters) {
  bytes = bytes / 32 * 32;
  R1VK_ASSIGN_OR_RETURN(auto src, ctx.create_buffer(bytes, vk::MemoryUsage::kDeviceLocal, "copy_src"));
  R1VK_ASSIGN_OR_RETURN(auto dst, ctx.create_buffer(bytes, vk::MemoryUsage::kDeviceLocal, "copy_dst"));
  R1VK_ASSIGN_OR_RETURN(auto warm, time_dispatches(ctx, 1, [&](vk::CommandBuffer& c) {
                          return kernels.record_copy(c, src, dst, bytes);
                        }));
  (void)warm;
  return time_dispatches(ctx, iters, [&](vk::CommandBuffer& c) { return kernels.record_copy(c, src, dst, bytes); });
}

Result<GemvBenchResult> bench_gemv_f16(vk::Context& ctx, vk::Kernels& kernels, uint32_t rows, uint32_t cols, int iters) {
  const size_t n = size_t{rows} * cols;
  std::vector<uint16_t> w(n);
  std::vector<float> x(cols);
  uint64_t state = 42;
  for (auto& v : w) v = f32_to_f16(uniform_pm1(state));
  for (auto& v : x) v = uniform_pm1(state);
  R1VK_ASSIGN_OR_RETURN(auto bw, ctx.create_buffer(n * 2, vk::MemoryUsage::kDeviceLocal, "gemv_W"));
  R1VK_ASSIGN_OR_RETURN(auto bx, ctx.create_buffer(size_t{cols} * 4, vk::MemoryUsage::kDeviceLocal, "gemv_x"));
  R1VK_ASSIGN_OR_RETURN(auto by, ctx.create_buffer(size_t{rows} * 4, vk::MemoryUsage::kDeviceLocal, "gemv_y"));
  R1VK_TRY(vk::upload_span(ctx, bw, std::span<const uint16_t>(w)));
  R1VK_TRY(vk::upload_span(ctx, bx, std::span<const float>(x)));
  auto record = [&](vk::CommandBuffer& c) { return kernels.record_gemv_f16(c, bw, bx, by, rows, cols); };
  R1VK_TRY(time_dispatches(ctx, 1, record));  // warm-up (pipeline compile, page faults)
  GemvBenchResult result;
  R1VK_ASSIGN_OR_RETURN(result.time, time_dispatches(ctx, iters, record));
  const double bytes = static_cast<double>(n) * 2 + cols * 4.0 + rows * 4.0;
  result.gbps = bytes / (result.time.median_ms * 1e6);

  std::vector<float> y(rows);
  R1VK_TRY(vk::download_span(ctx, by, std::span<float>(y)));
  for (uint32_t k = 0; k < std::min<uint32_t>(rows, 16); ++k) {
    const uint32_t r = static_cast<uint32_t>((uint64_t{k} * 2654435761u) % rows);
    double dot = 0, mag = 0;
    for (uint32_t c = 0; c < cols; ++c) {
      const double p = static_cast<double>(f16_to_f32(w[size_t{r} * cols + c])) * x[c];
      dot += p;
      mag += std::abs(p);
    }
    result.max_rel_error = std::max(result.max_rel_error, std::abs(y[r] - dot) / std::max(mag, 1e-30));
  }
  if (!(result.max_rel_error < 1e-5))
    return make_error(ErrorCode::kInternal, "gemv_f16 result differs from the CPU dot product (relative error " +
                                                std::to_string(result.max_rel_error) + ")");
  return result;
}

}  // namespace r1vk::cli
