// Kernel timing with timestamp queries: device copy bandwidth (copy kernel) and the f16 GEMV,
// plus a spot check of the GEMV result against a CPU dot product so a fast wrong kernel fails.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>

#include "base/status.h"
#include "vulkan/context.h"
#include "vulkan/kernels.h"

namespace r1vk::cli {

struct TimingStats {
  double median_ms = 0;  // device timestamps
  double min_ms = 0;
  // Process CPU time (user + sys) per call. On a CPU driver this is the work done, and unlike
  // wall time it barely moves when other processes compete for the cores.
  double cpu_ms = 0;
};

struct GemvBenchResult {
  TimingStats time;
  double gbps = 0;             // bytes moved (W + x + y) / median time
  double max_rel_error = 0;    // over the spot-checked rows
};

// Records `iters` calls of `record`, separated by barriers and bracketed by timestamps, runs
// them in one submit and returns the per-call statistics.
Result<TimingStats> time_dispatches(vk::Context& ctx, int iters,
                                    const std::function<Status(vk::CommandBuffer&)>& record);

// Time per copy of `bytes` bytes; bandwidth counts read + write.
Result<TimingStats> bench_copy(vk::Context& ctx, vk::Kernels& kernels, uint64_t bytes, int iters);
Result<GemvBenchResult> bench_gemv_f16(vk::Context& ctx, vk::Kernels& kernels, uint32_t rows, uint32_t cols, int iters);

}  // namespace r1vk::cli
