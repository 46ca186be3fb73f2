// Sizes derived from a ModelConfig's tensor inventory, for `r1vk info` and planning: parameter
// counts, storage needed per weight format, KV cache bytes per token.
#pragma once

#include <cstdint>

#include "import/model_config.h"

namespace r1vk {

struct ParameterCounts {
  uint64_t total = 0;   // main model (embeddings, every layer, final norm, head); no MTP, no scales
  uint64_t active = 0;  // per token: all of total except routed experts, plus num_experts_per_tok of them per MoE layer
  uint64_t mtp = 0;     // MTP layers, including their embedding/head copies
};
ParameterCounts count_parameters(const ModelConfig& config);

// Bytes for the main model's weights: 2-D tensors stored in the format, 1-D tensors (norms,
// biases) as f32 in every format.
struct MemoryEstimate {
  uint64_t f16 = 0;  // 2 bytes per weight
  uint64_t q8 = 0;   // 1 byte per weight + an fp16 scale per 32 weights of a row
  uint64_t q4 = 0;   // 0.5 byte per weight + an fp16 scale per 32 weights of a row
  uint64_t fp8 = 0;  // 1 byte per weight + an f32 scale per 128x128 block
};
MemoryEstimate estimate_memory(const ModelConfig& config);

// KV cache bytes per token at fp16 over the main layers: MLA caches the latent and the rope key
// ((kv_lora_rank + qk_rope_head_dim) values), GQA caches K and V of every KV head.
uint64_t kv_cache_bytes_per_token(const ModelConfig& config);

}  // namespace r1vk
