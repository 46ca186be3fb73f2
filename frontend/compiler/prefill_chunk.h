// The default prefill chunk of a plan: how many rows (tokens) one step may take, which sizes the
// activation arena the compiler plans (memory.prefill_chunk, docs/plan_format.md).
#pragma once

#include <cstdint>

#include "plan/program.h"

namespace r1vk {

inline constexpr int64_t kMinAutoPrefillChunk = 64;  // the fixed chunk plans used before the rule
// A step's latency grows with its rows and decode sequences sharing a step with a prefill chunk
// wait for it (docs/runtime.md), so 512 is the cap.
inline constexpr int64_t kMaxAutoPrefillChunk = 512;

// Each chunk reads every weight once (GEMM kernels reuse a decoded weight for all the chunk's
// rows of a tile, grouped MoE for all the tokens routed to an expert), so the weight traffic per
// prompt token is weight_bytes / chunk: the larger the chunk, the less prefill re-reads the
// model. What a chunk costs is activation memory: the arena holds every live value for `chunk`
// rows (the logits alone are chunk x vocab f32), and kernel scratch grows alike. The rule: the
// largest power of two in [kMinAutoPrefillChunk, kMaxAutoPrefillChunk], at most max_context, whose arena (planned for that many
// rows) is at most a quarter of the weights' bytes; 64 when even that exceeds it (small models,
// where weight traffic is not the cost). `main` is left planned for the returned chunk.
int64_t choose_prefill_chunk(plan::Program& main, uint64_t weight_bytes, int64_t max_context);

}  // namespace r1vk
