// The exact tensor list a checkpoint of a given ModelConfig must hold (MODEL_SPEC.md §3), with
// shapes and allowed dtypes, and the check of a Checkpoint against it.
#pragma once

#include <cstdint>
#include <set>
#include <string>
#include <vector>

#include "base/status.h"
#include "import/checkpoint.h"
#include "import/dtype.h"
#include "import/model_config.h"

namespace r1vk {

enum class TensorRole {
  kEmbedding,       // token embedding (also the MTP layer's copy)
  kLmHead,          // output projection (also the MTP shared_head.head copy)
  kNorm,            // RMSNorm weights: near 1
  kLinear,          // projections; FP8 in FP8 checkpoints
  kBias,            // Qwen2 q/k/v biases
  kRouter,          // MoE gate.weight, never quantised
  kCorrectionBias,  // e_score_correction_bias (noaux_tc)
  kMtpProjection,   // MTP eh_proj, never quantised
  kFp8Scale,        // <weight>_scale_inv, F32 block scales
};

struct ExpectedTensor {
  std::string name;
  std::vector<int64_t> shape;
  std::vector<DType> dtypes;  // allowed; the first is the config's (FP8 for linear weights of FP8 configs)
  TensorRole role = TensorRole::kLinear;
  int64_t layer = -1;   // -1: global tensor
  int64_t expert = -1;  // routed expert index, -1 otherwise
  bool mtp = false;     // belongs to an MTP layer
};

// In a fixed order: globals, then layer by layer; in FP8 configs a linear weight is followed by
// its scale. An MTP layer that shares the main embedding / head (ModelConfig) lists no copy.
std::vector<ExpectedTensor> expected_tensors(const ModelConfig& config);

// Rejects a missing, extra, misshaped or mistyped tensor, naming it and what was expected. Any
// matrix may be stored as F8_E4M3, and then needs its F32 `<name>_scale_inv` of
// [ceil(rows/block_n), ceil(cols/block_k)] (fp8 block size from the config, 128 x 128 without
// one); a scale without an FP8 weight is an extra tensor. `ignored` tensors are allowed extras
// (those of an MTP layer import_model dropped).
Status validate_checkpoint(const Checkpoint& checkpoint, const ModelConfig& config,
                           const std::set<std::string>& ignored = {});

std::string dtype_list(const std::vector<DType>& dtypes);  // "BF16|F16|F32"

}  // namespace r1vk
