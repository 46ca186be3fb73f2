#include "graph/memory_planner.h"

#include <algorithm>
#include <limits>
#include <vector>

namespace r1vk {
namespace {

struct Interval {
  size_t first = std::numeric_limits<size_t>::max();
  size_t last = 0;
};

uint64_t align_up(uint64_t v) { return (v + kArenaAlignment - 1) / kArenaAlignment * kArenaAlignment; }

}  // namespace

uint64_t plan_memory(plan::Program& program, int64_t max_tokens) {
  const size_t nv = program.values.size(), nops = program.ops.size();
  std::vector<Interval> live(nv);
  for (size_t i = 0; i < nops; ++i) {
    const auto& op = program.ops[i];
    for (const auto* refs : {&op.inputs, &op.outputs}) {
      for (const auto& r : *refs) {
        live[static_cast<size_t>(r.value)].first = std::min(live[static_cast<size_t>(r.value)].first, i);
        live[static_cast<size_t>(r.value)].last = std::max(live[static_cast<size_t>(r.value)].last, i);
      }
    }
  }
  for (int32_t io : {program.tokens_value, program.hidden_value, program.logits_value}) {
    if (io >= 0) live[static_cast<size_t>(io)] = {0, nops};
  }

  std::vector<size_t> order(nv);
  for (size_t i = 0; i < nv; ++i) order[i] = i;
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return live[a].first < live[b].first; });

  struct Placed {
    uint64_t offset, size;
    size_t last;
  };
  std::vector<Placed> active;
  uint64_t arena = 0;
  for (size_t v : order) {
    if (live[v].first == std::numeric_limits<size_t>::max()) continue;  // never used
    const uint64_t size = align_up(static_cast<uint64_t>(max_tokens * program.values[v].width) * 4);
    std::erase_if(active, [&](const Placed& p) { return p.last < live[v].first; });
    std::sort(active.begin(), active.end(), [](const Placed& a, const Placed& b) { return a.offset < b.offset; });
    uint64_t offset = 0;
    for (const Placed& p : active) {
      if (offset + size <= p.offset) break;
      offset = std::max(offset, p.offset + p.size);
    }
    program.values[v].offset = offset;
    active.push_back({offset, size, live[v].last});
    arena = std::max(arena, offset + size);
  }
  return arena;
}

}  // namespace r1vk
