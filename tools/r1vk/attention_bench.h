// `r1vk bench-kernels --op mla`: absorbed MLA decode attention at R1 shapes (128 heads, latent
// 512 + rope 64, one token at the end of a `context`-long cache), timed with timestamp queries
// against the device's copy bandwidth, its output spot-checked against the CPU.
#pragma once

#include <cstdint>
#include <optional>

#include "base/status.h"

namespace r1vk::cli {

struct MlaBenchOptions {
  std::optional<int> device;
  uint32_t context = 4096;
  uint32_t heads = 128;
  int iters = 10;
  bool quick = false;
};

Status run_mla_bench(const MlaBenchOptions& options);

}  // namespace r1vk::cli
