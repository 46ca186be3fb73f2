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

// `r1vk bench-kernels --op sample`: the GPU sampler over a `vocab`-wide logits row, greedy and
// temperature 0.8 with top-k 40 / top-p 0.9 and with top-p 0.9 alone; time per sampled token.
Status run_sample_bench(std::optional<int> device, uint32_t vocab, int iters);

}  // namespace r1vk::cli
