// Runs a compiled dispatch program on the CPU, op by op, with the packed weights unpacked to
// f32 and the KV cache stored in f16 as the device stores it. It defines what each plan op
// means: the Vulkan executor must match it op for op, and it must match the naive reference
// forward pass end to end (which checks MLA absorption, fusion and memory planning).
#pragma once

#include <cstdint>
#include <span>
#include <vector>

#include "base/status.h"
#include "plan/program.h"

namespace r1vk::ref {

struct InterpreterModel {
  std::vector<std::vector<float>> weights;  // per plan tensor, unpacked, row-major
  std::vector<double> rope_freqs;
  double rope_magnitude = 1.0;
  int64_t kv_layers = 0;
  int64_t kv_width = 0;
  int64_t max_context = 0;
};

class ProgramInterpreter {
 public:
  explicit ProgramInterpreter(const InterpreterModel& model);

  // Runs `program` for tokens at positions pos0.. . `hidden_in` feeds an MTP program's input.
  // Returns the logits [T, vocab]; `hidden_out` receives the program's hidden value if any.
  Result<std::vector<float>> run(const plan::Program& program, std::span<const int32_t> tokens, int64_t pos0,
                                 std::span<const float> hidden_in = {}, std::vector<float>* hidden_out = nullptr);

 private:
  const InterpreterModel& model_;
  std::vector<std::vector<uint16_t>> cache_;  // [layer][pos * kv_width + i], f16
};

}  // namespace r1vk::ref
