#include "compiler/prefill_chunk.h"

#include <algorithm>

#include "graph/memory_planner.h"

namespace r1vk {

int64_t choose_prefill_chunk(plan::Program& main, uint64_t weight_bytes, int64_t max_context) {
  const uint64_t budget = weight_bytes / 4;
  int64_t chunk = kMaxAutoPrefillChunk;
  while (chunk > kMinAutoPrefillChunk && plan_memory(main, chunk) > budget) chunk /= 2;
  chunk = std::max<int64_t>(1, std::min(chunk, max_context));
  plan_memory(main, chunk);
  return chunk;
}

}  // namespace r1vk
