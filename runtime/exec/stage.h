// Pipeline stages of a plan's main program: a stage owns a contiguous run of the program's ops
// (the ops of consecutive decoder layers; stage 0 also the embedding, the last stage also the
// final norm, LM head and sampling). Between stages travels the residual stream `h`, the value
// the embedding writes and the final norm reads: [rows, hidden] float32 per step. Design:
// docs/pipeline.md.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <span>
#include <vector>

#include "base/status.h"
#include "plan/program.h"

namespace r1vk::exec {

// Ops [first, end) of the main program; the default is the whole program.
struct OpRange {
  size_t first = 0;
  size_t end = std::numeric_limits<size_t>::max();
};

// Layers [first, end) of a stage.
struct LayerRange {
  int64_t first = 0;
  int64_t end = 0;
};

// The decoder layer an op belongs to, from its label ("layers.3.attn.q_b" -> 3); -1 for the ops
// outside the layers (embed, final_norm, lm_head).
int64_t op_layer(const plan::Op& op);

// Decoder layers of the program (one more than the highest op_layer).
int64_t program_layers(const plan::Program& program);

// The ops of layers [layers.first, layers.end): stage 0 (layers.first == 0) starts at op 0, the
// stage ending at the last layer runs to the end. Errors when the range is empty or out of
// bounds, or the program's layer ops are not in layer order (then no contiguous split exists).
Result<OpRange> stage_ops(const plan::Program& program, LayerRange layers);

// Splits `layers` layers into ratios.size() consecutive stages in proportion to the ratios
// (each > 0; rounded so every stage gets at least one layer). Errors with more stages than layers.
Result<std::vector<LayerRange>> split_layers(int64_t layers, std::span<const double> ratios);

// The residual-stream value crossing stage boundaries: the embedding op's output.
Result<int32_t> stage_hidden_value(const plan::Program& program);

}  // namespace r1vk::exec
