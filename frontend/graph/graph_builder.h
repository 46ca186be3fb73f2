// Builds the dispatch program and weight table of a model from its config (one builder per
// architecture family). The program is written for a chunk of T tokens; nothing here depends
// on the weights' values or on the device.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "graph/weight_spec.h"
#include "import/model_config.h"
#include "plan/program.h"

namespace r1vk {

struct ModelGraph {
  plan::Program main;               // tokens -> logits (and the normed hidden state)
  plan::Program mtp;                // empty unless the model has an MTP layer
  std::vector<WeightSpec> weights;  // plan tensor table, indexed by Op::weights
  std::vector<double> rope_freqs;   // per rotary pair, scaling applied (MODEL_SPEC §2)
  double rope_magnitude = 1.0;
  int64_t kv_layers = 0;            // cache layers: main layers + MTP layers
  int64_t kv_width = 0;             // cached values per token per layer (MLA: c + dr; GQA: 2*kv*hd)
};

Result<ModelGraph> build_model_graph(const ModelConfig& config);

// Helper the per-architecture builders share: owns the program under construction.
class ProgramBuilder {
 public:
  ProgramBuilder(plan::Program& program, std::vector<WeightSpec>& weights) : p_(program), w_(weights) {}

  int32_t value(const std::string& name, int64_t width, plan::ValueType type = plan::ValueType::kF32);
  plan::ActRef all(int32_t value) const;
  plan::ActRef cols(int32_t value, int64_t col, int64_t n) const { return {value, col, n}; }
  // Adds (or reuses, by name) a plan tensor.
  int32_t weight(const WeightSpec& spec);
  plan::Op& op(plan::OpKind kind, const std::string& label, std::vector<plan::ActRef> in, std::vector<plan::ActRef> out,
               std::vector<int32_t> weights = {});

  plan::Op& ops_back() { return p_.ops.back(); }

  // Common layers.
  void rmsnorm(const std::string& label, const std::string& source, plan::ActRef in, plan::ActRef out, double eps);
  // out (+)= W in, W from one checkpoint tensor or several stacked along rows.
  void linear(const std::string& label, const std::string& plan_name, std::vector<std::string> sources, int64_t rows,
              plan::ActRef in, plan::ActRef out, bool accumulate, WeightRole role = WeightRole::kLinear,
              std::vector<int64_t> source_rows = {});
  // h += down(silu(gate(x)) * up(x)) with gate|up fused into one matrix.
  void swiglu_mlp(const std::string& label, const std::string& prefix, int64_t width, int32_t x, int32_t h,
                  int64_t hidden);

 private:
  plan::Program& p_;
  std::vector<WeightSpec>& w_;
};

// Per-architecture parts (graph_deepseek.cpp, graph_dense.cpp).
void build_deepseek_layer(ProgramBuilder& b, const ModelConfig& c, int64_t layer, int32_t h, int32_t x);
void build_dense_layer(ProgramBuilder& b, const ModelConfig& c, int64_t layer, int32_t h, int32_t x);

}  // namespace r1vk
