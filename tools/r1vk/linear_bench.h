// `r1vk bench-kernels --op linear`: the matrix kernels (runtime/kernels/linear_kernels.h) on one
// weight format, as GEMV (--tokens 1) or GEMM (--tokens N), timed with timestamp queries and
// reported as time per call, GB/s of weight traffic, its fraction of the device's measured copy
// bandwidth, and GFLOP/s. Rows of the result are spot-checked against the CPU.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/status.h"

namespace r1vk::cli {

struct LinearBenchFlags {
  std::optional<int> device;
  std::string format = "q4";
  uint32_t group = 32;  // q4 only
  uint32_t rows = 4096;
  uint32_t cols = 14336;
  uint32_t tokens = 1;
  int iters = 0;       // 0: 20 for GEMV, 3 for GEMM
  std::string shape;   // empty: the device's choice; else lanes / sg / shared
  uint32_t workgroup = 0, shape_rows = 0, shape_tokens = 0;
  std::string bound = "auto";  // descriptor-bound twin: auto, on, off
  bool quick = false;
};

Status run_linear_bench(const LinearBenchFlags& flags);

}  // namespace r1vk::cli
