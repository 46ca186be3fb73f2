// `r1vk bench-kernels --op mla`: absorbed MLA attention at DeepSeek shapes (latent 512 + rope 64;
// R1's 128 heads by default), `tokens` rows ending at a `context`-long cache (1: decode; more: a
// causal prefill chunk at positions context - tokens .. context - 1), timed with timestamp
// queries against the device's copy bandwidth, its output spot-checked against the CPU.
#pragma once

#include <cstdint>
#include <optional>

#include "base/status.h"

namespace r1vk::cli {

struct MlaBenchOptions {
  std::optional<int> device;
  uint32_t context = 4096;
  uint32_t heads = 128;
  uint32_t tokens = 1;
  int iters = 10;
  bool quick = false;
};

Status run_mla_bench(const MlaBenchOptions& options);

// `r1vk bench-kernels --op sample`: the GPU sampler over a `vocab`-wide logits row, greedy and
// temperature 0.8 with top-k 40 / top-p 0.9 and with top-p 0.9 alone; time per sampled token.
Status run_sample_bench(std::optional<int> device, uint32_t vocab, int iters);

}  // namespace r1vk::cli
