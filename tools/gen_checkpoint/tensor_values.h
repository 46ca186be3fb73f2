// Deterministic, well-scaled random tensor contents for synthetic checkpoints. Values depend only
// on (seed, tensor name), never on sharding or chunking, so a sharded and an unsharded checkpoint
// of the same seed hold identical weights.
//   linear / router / head / eh_proj: uniform with std 1/sqrt(fan_in) (fan_in = columns)
//   embeddings: uniform with std 1;  norms: 1 + U(-0.1, 0.1);  biases: U(-0.05, 0.05)
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "import/tensor_inventory.h"
#include "safetensors_writer.h"

namespace r1vk::gen {

class TensorValues {
 public:
  TensorValues(uint64_t seed, const ExpectedTensor& tensor);
  void fill(std::span<float> out);  // the next out.size() values in row-major order

 private:
  uint64_t state_;
  float center_ = 0;
  float half_width_ = 0;
};

// Writes `tensor` as `dtype` (BF16, F32, or F8_E4M3 with per-block scales appended to
// `fp8_scales`, row-major [ceil(rows/bn), ceil(cols/bk)]).
Status write_tensor_values(uint64_t seed, const ExpectedTensor& tensor, DType dtype, int64_t block_n, int64_t block_k,
                           ByteSink& sink, std::vector<float>& fp8_scales);

Status write_f32(std::span<const float> values, ByteSink& sink);

}  // namespace r1vk::gen
