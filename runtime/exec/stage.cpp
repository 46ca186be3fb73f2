#include "exec/stage.h"

#include <algorithm>
#include <cmath>
#include <string>

namespace r1vk::exec {

int64_t op_layer(const plan::Op& op) {
  static constexpr std::string_view kPrefix = "layers.";
  const std::string_view label = op.label;
  if (label.substr(0, kPrefix.size()) != kPrefix) return -1;
  int64_t layer = 0;
  size_t i = kPrefix.size();
  if (i >= label.size() || label[i] < '0' || label[i] > '9') return -1;
  for (; i < label.size() && label[i] >= '0' && label[i] <= '9'; ++i) layer = layer * 10 + (label[i] - '0');
  return layer;
}

int64_t program_layers(const plan::Program& program) {
  int64_t n = 0;
  for (const plan::Op& op : program.ops) n = std::max(n, op_layer(op) + 1);
  return n;
}

Result<OpRange> stage_ops(const plan::Program& program, LayerRange layers) {
  const int64_t n = program_layers(program);
  if (layers.first < 0 || layers.end > n || layers.first >= layers.end) {
    return make_error(ErrorCode::kInvalidArgument, "stage layers [" + std::to_string(layers.first) + ", " +
                                                       std::to_string(layers.end) + ") are not a non-empty range of the " +
                                                       std::to_string(n) + " layers");
  }
  // Layer ops must come in layer order with the other ops before the first or after the last
  // layer; anything else cannot be cut into contiguous stages.
  int64_t seen = -1;
  bool after_layers = false;
  for (const plan::Op& op : program.ops) {
    const int64_t l = op_layer(op);
    if (l < 0) {
      if (seen >= 0) after_layers = true;
      continue;
    }
    if (l < seen || after_layers) {
      return make_error(ErrorCode::kUnsupported, "op " + op.label + " is out of layer order: the plan cannot be split into stages");
    }
    seen = l;
  }
  OpRange r{program.ops.size(), 0};
  for (size_t i = 0; i < program.ops.size(); ++i) {
    const int64_t l = op_layer(program.ops[i]);
    if (l >= layers.first && l < layers.end) {
      r.first = std::min(r.first, i);
      r.end = std::max(r.end, i + 1);
    }
  }
  if (layers.first == 0) r.first = 0;
  if (layers.end == n) r.end = program.ops.size();
  return r;
}

Result<std::vector<LayerRange>> split_layers(int64_t layers, std::span<const double> ratios) {
  const int64_t stages = static_cast<int64_t>(ratios.size());
  if (stages == 0) return make_error(ErrorCode::kInvalidArgument, "a pipeline needs at least one stage");
  if (stages > layers) {
    return make_error(ErrorCode::kInvalidArgument, std::to_string(stages) + " pipeline stages exceed the model's " +
                                                       std::to_string(layers) + " layers");
  }
  double total = 0;
  for (double r : ratios) {
    if (!(r > 0) || !std::isfinite(r)) return make_error(ErrorCode::kInvalidArgument, "split ratios must be positive numbers");
    total += r;
  }
  // Cumulative rounding, then at least one layer per stage (and enough left for the rest).
  std::vector<LayerRange> out;
  double acc = 0;
  int64_t first = 0;
  for (int64_t s = 0; s < stages; ++s) {
    acc += ratios[static_cast<size_t>(s)];
    int64_t end = s + 1 == stages ? layers : static_cast<int64_t>(std::llround(acc / total * static_cast<double>(layers)));
    end = std::clamp(end, first + 1, layers - (stages - s - 1));
    out.push_back({first, end});
    first = end;
  }
  return out;
}

Result<int32_t> stage_hidden_value(const plan::Program& program) {
  if (program.ops.empty() || program.ops[0].kind != plan::OpKind::kEmbed || program.ops[0].outputs.empty()) {
    return make_error(ErrorCode::kUnsupported, "the plan's program does not start with an embedding: it cannot be split into stages");
  }
  return program.ops[0].outputs[0].value;
}

}  // namespace r1vk::exec
