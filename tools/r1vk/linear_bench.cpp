#include "linear_bench.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <vector>

#include <sys/resource.h>

#include "base/numeric_formats.h"
#include "kernel_bench.h"
#include "kernels/linear_kernels.h"
#include "kernels/pipeline_set.h"
#include "plan/weight_format.h"
#include "vulkan/context.h"
#include "vulkan/kernels.h"
#include "vulkan/query_pool.h"
#include "vulkan/transfer.h"

namespace r1vk::cli {
namespace {

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

// A random packed weight built directly in the packed layout (packing 58M values through the
// quantiser would dominate the run): random data bytes, scales in a sane range.
PackedWeight random_packed(WeightFormat f, uint32_t rows, uint32_t cols, uint32_t group) {
  PackedWeight p;
  p.format = f;
  p.rows = rows;
  p.cols = cols;
  p.group = f == WeightFormat::kQ8 ? kQ8Group : f == WeightFormat::kQ4 ? group : f == WeightFormat::kFp8 ? kFp8Block
          : ggml_block_values(f);
  const int64_t g = p.group;
  p.data.resize(*packed_data_bytes(f, rows, cols, g));
  p.scales.resize(*packed_scale_bytes(f, rows, cols, g));
  uint64_t state = 42;
  if (f == WeightFormat::kF32 || f == WeightFormat::kF16) {
    for (size_t i = 0; i < p.data.size() / (f == WeightFormat::kF32 ? 4 : 2); ++i) {
      const float v = uniform_pm1(state);
      if (f == WeightFormat::kF32) {
        std::memcpy(p.data.data() + 4 * i, &v, 4);
      } else {
        const uint16_t h = f32_to_f16(v);
        std::memcpy(p.data.data() + 2 * i, &h, 2);
      }
    }
    return p;
  }
  for (auto& b : p.data) {
    b = static_cast<uint8_t>(next_random(state));
    if (f == WeightFormat::kQ8 && b == 0x80) b = 0x81;                         // q in [-127, 127]
    if (f == WeightFormat::kFp8 && (b & 0x7F) == 0x7F) b = static_cast<uint8_t>(b - 1);  // no NaN
  }
  if (is_ggml_block_format(f)) {
    // Random bytes are valid blocks except for the f16 super-scales: d (and q4_k's dmin) sane.
    const size_t bb = static_cast<size_t>(ggml_block_bytes(f));
    const size_t d_at = f == WeightFormat::kQ6K ? 208 : 0;
    for (size_t b = 0; b < p.data.size() / bb; ++b) {
      const uint16_t h = f32_to_f16(0.001f * (1.0f + 0.5f * uniform_pm1(state)));
      std::memcpy(p.data.data() + b * bb + d_at, &h, 2);
      if (f == WeightFormat::kQ4K) std::memcpy(p.data.data() + b * bb + 2, &h, 2);
    }
  } else if (f == WeightFormat::kFp8) {
    for (size_t i = 0; i < p.scales.size() / 4; ++i) {
      const float s = 1.0f / 448.0f;
      std::memcpy(p.scales.data() + 4 * i, &s, 4);
    }
  } else {
    for (size_t i = 0; i < p.scales.size() / 2; ++i) {
      const uint16_t h = f32_to_f16(0.01f * (1.0f + 0.5f * uniform_pm1(state)));
      std::memcpy(p.scales.data() + 2 * i, &h, 2);
    }
  }
  return p;
}

// Rows [r0, r0 + n) of a packed weight as their own PackedWeight (r0 a multiple of 128, so fp8
// block scales slice cleanly), to unpack a few rows without unpacking the whole matrix.
PackedWeight slice_rows(const PackedWeight& p, uint32_t r0, uint32_t n) {
  PackedWeight s = p;
  s.rows = n;
  const size_t data_row = p.data.size() / static_cast<size_t>(p.rows);
  s.data.assign(p.data.begin() + static_cast<ptrdiff_t>(r0 * data_row), p.data.begin() + static_cast<ptrdiff_t>((r0 + n) * data_row));
  if (p.format == WeightFormat::kFp8) {
    const size_t block_row = static_cast<size_t>((p.cols + kFp8Block - 1) / kFp8Block) * 4;
    const size_t b0 = r0 / kFp8Block, b1 = (r0 + n + kFp8Block - 1) / kFp8Block;
    s.scales.assign(p.scales.begin() + static_cast<ptrdiff_t>(b0 * block_row), p.scales.begin() + static_cast<ptrdiff_t>(b1 * block_row));
  } else if (!p.scales.empty()) {
    const size_t scale_row = p.scales.size() / static_cast<size_t>(p.rows);
    s.scales.assign(p.scales.begin() + static_cast<ptrdiff_t>(r0 * scale_row), p.scales.begin() + static_cast<ptrdiff_t>((r0 + n) * scale_row));
  }
  return s;
}

}  // namespace

Status run_linear_bench(const LinearBenchFlags& in) {
  LinearBenchFlags f = in;
  if (f.quick) {
    f.rows = std::min<uint32_t>(f.rows, 1024);
    f.cols = std::min<uint32_t>(f.cols, 4096);
    f.tokens = std::min<uint32_t>(f.tokens, 16);
    f.iters = std::min(f.iters == 0 ? 3 : f.iters, 3);
  }
  if (f.iters == 0) f.iters = f.tokens > 1 ? 3 : 20;
  if (f.rows == 0 || f.cols == 0 || f.tokens == 0 || f.iters <= 0)
    return make_error(ErrorCode::kInvalidArgument, "--rows, --cols, --tokens and --iters must be positive");
  R1VK_ASSIGN_OR_RETURN(const WeightFormat format, parse_weight_format(f.format));
  if (format == WeightFormat::kQ4 && f.group != 32 && f.group != 128)
    return make_error(ErrorCode::kInvalidArgument, "--group must be 32 or 128");
  if (is_ggml_block_format(format) && f.cols % ggml_block_values(format) != 0)
    return make_error(ErrorCode::kInvalidArgument, std::string("--cols must be a multiple of ") +
                                                       std::to_string(ggml_block_values(format)) + " for " + f.format);

  vk::ContextOptions options;
  options.device_index = f.device;
  R1VK_ASSIGN_OR_RETURN(auto ctx, vk::Context::create(options));
  vk::Kernels base_kernels(*ctx);
  kernels::PipelineSet pipelines(*ctx);
  kernels::LinearKernels linear(pipelines);
  kernels::LinearShape shape = linear.shape_for(format, f.cols, f.tokens, false);
  if (!f.shape.empty()) shape.shape = f.shape;
  if (f.workgroup) shape.workgroup = f.workgroup;
  if (f.shape_rows) shape.rows = f.shape_rows;
  if (f.shape_tokens) shape.tokens = f.shape_tokens;
  linear.set_shape_override(shape);
  if (f.bound != "auto") linear.set_bound_override(f.bound == "on");

  const PackedWeight w = random_packed(format, f.rows, f.cols, f.group);
  const uint64_t w_bytes = w.data.size() + w.scales.size();
  std::printf("device [%zu] %s\n", ctx->device_index(), ctx->caps().name.c_str());
  R1VK_ASSIGN_OR_RETURN(TimingStats copy, bench_copy(*ctx, base_kernels, std::max<uint64_t>(w_bytes, 1 << 20), 5));
  const double copy_bytes = static_cast<double>(std::max<uint64_t>(w_bytes, 1 << 20) / 32 * 32);  // as bench_copy rounds
  const double copy_gbps = 2.0 * copy_bytes / (copy.median_ms * 1e6);
  std::printf("copy kernel %8.1f MiB: %8.3f ms/call, %7.2f GB/s (read + write)\n", copy_bytes / (1 << 20), copy.median_ms,
              copy_gbps);

  std::vector<float> x(size_t{f.tokens} * f.cols);
  uint64_t state = 7;
  for (auto& v : x) v = uniform_pm1(state);
  auto buffer = [&](uint64_t bytes, const char* name) { return ctx->create_buffer(std::max<uint64_t>(bytes, 16), vk::MemoryUsage::kDeviceLocal, name); };
  R1VK_ASSIGN_OR_RETURN(auto bdata, buffer((w.data.size() + 15) / 16 * 16, "W"));
  R1VK_ASSIGN_OR_RETURN(auto bscales, buffer((w.scales.size() + 15) / 16 * 16, "W_scales"));
  R1VK_ASSIGN_OR_RETURN(auto bx, buffer(x.size() * 4, "x"));
  R1VK_ASSIGN_OR_RETURN(auto by, buffer(uint64_t{f.tokens} * f.rows * 4, "y"));
  R1VK_ASSIGN_OR_RETURN(auto bstep, buffer(4 * kernels::encode_step(kernels::StepParams{f.tokens}).size(), "step"));
  R1VK_TRY(vk::upload_span(*ctx, bdata, std::span<const uint8_t>(w.data)));
  if (!w.scales.empty()) R1VK_TRY(vk::upload_span(*ctx, bscales, std::span<const uint8_t>(w.scales)));
  R1VK_TRY(vk::upload_span(*ctx, bx, std::span<const float>(x)));
  kernels::StepParams sp;
  sp.n_tokens = f.tokens;
  R1VK_TRY(vk::upload_span(*ctx, bstep, std::span<const uint32_t>(kernels::encode_step(sp))));

  const kernels::WeightView wv{bdata.address(), w.scales.empty() ? 0 : bscales.address(), format, f.rows, f.cols,
                               static_cast<uint32_t>(w.group)};
  const kernels::ActView xin{bx.address(), f.cols, f.cols}, yout{by.address(), f.rows, f.rows};
  const kernels::StepView step{bstep.address(), f.tokens};
  auto record = [&](vk::CommandBuffer& c) { return linear.record_linear(c, wv, 0, xin, yout, false, step); };

  // Warm-up (pipeline compile, page faults), then `iters` timed calls in one submit.
  R1VK_ASSIGN_OR_RETURN(auto pool, vk::TimestampQueryPool::create(ctx->device(), static_cast<uint32_t>(2 * f.iters)));
  {
    R1VK_ASSIGN_OR_RETURN(auto cmd, ctx->create_command_buffer());
    R1VK_TRY(cmd.begin());
    R1VK_TRY(record(cmd));
    R1VK_TRY(cmd.end());
    R1VK_TRY(ctx->submit_and_wait(cmd));
  }
  R1VK_ASSIGN_OR_RETURN(auto cmd, ctx->create_command_buffer());
  R1VK_TRY(cmd.begin());
  cmd.reset_queries(pool);
  for (int i = 0; i < f.iters; ++i) {
    cmd.compute_barrier();
    cmd.write_timestamp(pool, static_cast<uint32_t>(2 * i));
    R1VK_TRY(record(cmd));
    cmd.write_timestamp(pool, static_cast<uint32_t>(2 * i + 1));
  }
  R1VK_TRY(cmd.end());
  const double cpu0 = process_cpu_ms();
  R1VK_TRY(ctx->submit_and_wait(cmd));
  const double cpu_ms = (process_cpu_ms() - cpu0) / f.iters;
  R1VK_ASSIGN_OR_RETURN(auto ns, pool.read_ns());
  std::vector<double> ms;
  for (int i = 0; i < f.iters; ++i) ms.push_back((ns[2 * i + 1] - ns[2 * i]) / 1e6);
  std::sort(ms.begin(), ms.end());
  const double median = ms[ms.size() / 2];

  // Spot check: rows of one 128-row block against the CPU, for the first and last token.
  std::vector<float> y(size_t{f.tokens} * f.rows);
  R1VK_TRY(vk::download_span(*ctx, by, std::span<float>(y)));
  const uint32_t r0 = (f.rows / 2) / 128 * 128, n = std::min<uint32_t>(f.rows - r0, 16);
  const std::vector<float> wr = unpack_weight(slice_rows(w, r0, n));
  double max_rel = 0;
  for (uint32_t t : {0u, f.tokens - 1})
    for (uint32_t r = 0; r < n; ++r) {
      double dot = 0, mag = 0;
      for (uint32_t c = 0; c < f.cols; ++c) {
        const double p = static_cast<double>(wr[size_t{r} * f.cols + c]) * x[size_t{t} * f.cols + c];
        dot += p;
        mag += std::abs(p);
      }
      max_rel = std::max(max_rel, std::abs(y[size_t{t} * f.rows + r0 + r] - dot) / std::max(mag, 1e-30));
    }

  const double gbps = (static_cast<double>(w_bytes) + 4.0 * f.tokens * (f.cols + f.rows)) / (median * 1e6);
  const double gflops = 2.0 * f.tokens * double(f.rows) * f.cols / (median * 1e6);
  std::printf("linear %s%s %ux%u tokens %u [%s%s wg=%u rows=%u tokens/inv=%u]: %10.3f ms/call (min %.3f, cpu %.1f), "
              "%7.2f GB/s = %.0f%% of copy, %7.2f GFLOP/s, max rel error %.2g\n",
              weight_format_name(format), format == WeightFormat::kQ4 ? (f.group == 32 ? "/32" : "/128") : "", f.rows,
              f.cols, f.tokens, shape.shape.c_str(), linear.bound_dispatches() > 0 ? " bound" : "", shape.workgroup, shape.rows, shape.tokens, median, ms.front(), cpu_ms,
              gbps, 100.0 * gbps / copy_gbps, gflops, max_rel);
  if (!(max_rel < 1e-5))
    return make_error(ErrorCode::kInternal, "linear result differs from the CPU dot product (relative error " +
                                                std::to_string(max_rel) + ")");
  if (ctx->validation_errors() != 0)
    return make_error(ErrorCode::kInternal, std::to_string(ctx->validation_errors()) + " Vulkan validation error(s)");
  return ctx->save_pipeline_cache();
}

}  // namespace r1vk::cli
