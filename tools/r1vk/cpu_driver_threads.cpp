#include "cpu_driver_threads.h"

#include <cstdio>
#include <cstdlib>

#include "plan/decode_traffic.h"

namespace r1vk::cli {

std::string choose_cpu_driver_threads(const plan::Manifest& m) {
  if (const char* set = std::getenv("LP_NUM_THREADS")) return std::string("LP_NUM_THREADS=") + set + " (set by the environment)";
  const uint64_t bytes = plan::decode_traffic(m).weight_bytes;
  char mib[32];
  std::snprintf(mib, sizeof mib, "%.1f", static_cast<double>(bytes) / (1 << 20));
  if (bytes >= kInlineCpuDriverBytes) return std::string("driver default (") + mib + " MiB of weights per token)";
  if (setenv("LP_NUM_THREADS", "0", /*overwrite=*/0) != 0) return "driver default (could not set LP_NUM_THREADS)";
  return std::string("LP_NUM_THREADS=0, dispatches inline (") + mib + " MiB of weights per token, below " +
         std::to_string(kInlineCpuDriverBytes >> 20) + " MiB)";
}

}  // namespace r1vk::cli
