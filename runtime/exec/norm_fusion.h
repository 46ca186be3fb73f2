// Which RMSNorm and SwiGLU ops of a program the recorder folds into the linear ops that read
// their output (kernels::InputNorm, record_linear_swiglu): on a CPU driver every dispatch has a fixed cost (docs/speculative.md
// measures ~40-75 us on lavapipe), and an RMSNorm whose output only feeds linears (attn_norm ->
// q_a and kv_a, q_a_norm -> q_b, a dense FFN's norm -> gate_up, the MTP norm -> its head) is a dispatch the
// linears can do while reading their input. The analysis is conservative: anything it cannot prove keeps the
// norm as its own op.
#pragma once

#include <cstdint>
#include <optional>
#include <span>
#include <vector>

#include "exec/stage.h"
#include "plan/program.h"

namespace r1vk::exec {

struct NormFusion {
  std::vector<bool> skip;         // per op: an RMSNorm or SwiGLU not recorded (its readers apply it)
  std::vector<int64_t> norm_of;   // per op: the RMSNorm a linear applies to its input, or -1
  std::vector<int64_t> swiglu_of; // per op: the SwiGLU a linear applies to its input, or -1
  size_t fused() const;           // RMSNorm and SwiGLU ops folded
};

// An RMSNorm op i (one input x, one output y, its weight) is folded when:
//  - y is not `keep` (values read outside the program: its hidden state, logits) and y's arena
//    bytes differ from x's;
//  - every op that reads y before y is rewritten is a linear (not accumulating into y's bytes,
//    not `head_op`) whose input is exactly y's window, inside `range`;
//  - no op from i up to the last such reader, that reader included, writes arena bytes of x
//    (the readers read x in y's place), and no op in between writes y's value partially.
// y's life ends at a full rewrite of its window or at a write of another value into its bytes
// (the arena planner reuses a value's bytes only after its last reader).
// `rows` is the arena's rows per value (the plan's prefill chunk). Ops outside `range` are
// never folded.
// A SwiGLU op (input [gate | up], output half as wide: the dense MLP's and the shared experts'
// activation before their down projection) is folded on the same conditions: its readers
// compute silu(gate) * up as they read (kernels::LinearKernels::record_linear_swiglu).
NormFusion plan_norm_fusion(const plan::Program& program, OpRange range, uint64_t rows, std::span<const int32_t> keep,
                            std::optional<size_t> head_op);

// The MTP layer's input, [enorm(embed(t)), hnorm(h)] (MODEL_SPEC §3), as one dispatch
// (kernels::LinearKernels::record_embed_norm) instead of an embedding and two RMSNorms: on a CPU
// driver the MTP pass of a verifying step is ~25 dispatches of fixed cost each. The embedding op
// `embed` writes a value that only the RMSNorm `norm` (the next op) reads, in full; that norm
// then reads the embedding's rows as the kernel makes them. `second`, when set, is the op after
// `norm`: an RMSNorm writing another window of norm's output value from an input that neither
// `embed` nor `norm` writes, so it may run with them.
struct EmbedNormFusion {
  size_t embed = 0, norm = 0;
  std::optional<size_t> second;
};

// The first such fusion of the program inside `range` (at most one per program: the MTP layer's
// input), or nullopt. `rows` and `keep` as for plan_norm_fusion; `external` is a value read from
// outside the arena (ProgramBuffers::external_value; -1 none), whose arena bytes alias nothing.
std::optional<EmbedNormFusion> plan_embed_norm_fusion(const plan::Program& program, OpRange range, uint64_t rows,
                                                      std::span<const int32_t> keep, int32_t external);

}  // namespace r1vk::exec
