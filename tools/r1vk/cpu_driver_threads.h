// Whether lavapipe runs a model's dispatches on its compute threads or inline.
//
// Mesa's llvmpipe (lavapipe's compiler and executor) wakes its pool of compute threads for every
// dispatch and waits for them, which costs ~20-30 us per dispatch on a 2-core machine whatever
// the dispatch computes. A model that reads a few MiB of weights per token does less work than
// that in most of its dispatches, so its decode is faster with the pool off (LP_NUM_THREADS=0:
// llvmpipe runs each dispatch on the thread that executes the command buffer). Measured with the
// demo model (0.4 MiB per token): decode 2.1-2.4x faster, prefill the same (docs/runtime.md).
// Larger models keep the pool, which splits their GEMMs over the cores.
#pragma once

#include <cstdint>
#include <string>

#include "plan/manifest.h"

namespace r1vk::cli {

// Weight bytes per decode token below which the pool is turned off.
inline constexpr uint64_t kInlineCpuDriverBytes = uint64_t{16} << 20;

// Sets LP_NUM_THREADS=0 in this process's environment when `m` reads fewer than
// kInlineCpuDriverBytes of weights per decode token and LP_NUM_THREADS is not set already (the
// user's value always wins). Call before the first Vulkan instance of the process: llvmpipe reads
// the variable once, when it creates its screen. No effect on any other driver. Returns what was
// decided, for `r1vk bench` to print.
std::string choose_cpu_driver_threads(const plan::Manifest& m);

}  // namespace r1vk::cli
