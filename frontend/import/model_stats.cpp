#include "import/model_stats.h"

#include "import/dequantize.h"
#include "import/tensor_inventory.h"

namespace r1vk {
namespace {

uint64_t element_count(const ExpectedTensor& t) {
  uint64_t n = 1;
  for (int64_t d : t.shape) n *= static_cast<uint64_t>(d);
  return n;
}

// The inventory without FP8 scales: the model's parameters do not depend on the storage format.
std::vector<ExpectedTensor> parameters(const ModelConfig& config) {
  ModelConfig plain = config;
  plain.fp8.enabled = false;
  return expected_tensors(plain);
}

}  // namespace

ParameterCounts count_parameters(const ModelConfig& config) {
  ParameterCounts p;
  for (const ExpectedTensor& t : parameters(config)) {
    const uint64_t n = element_count(t);
    if (t.mtp) {
      p.mtp += n;
      continue;
    }
    p.total += n;
    if (t.expert < config.moe.num_experts_per_tok) p.active += n;  // non-experts have expert -1
  }
  return p;
}

MemoryEstimate estimate_memory(const ModelConfig& config) {
  MemoryEstimate m;
  for (const ExpectedTensor& t : parameters(config)) {
    if (t.mtp) continue;
    const uint64_t n = element_count(t);
    if (t.shape.size() != 2) {
      const uint64_t f32 = 4 * n;
      m.f16 += f32;
      m.q8 += f32;
      m.q4 += f32;
      m.fp8 += f32;
      continue;
    }
    const int64_t rows = t.shape[0];
    const int64_t cols = t.shape[1];
    const auto group_scales = static_cast<uint64_t>(rows * ceil_div(cols, 32)) * 2;
    m.f16 += 2 * n;
    m.q8 += n + group_scales;
    m.q4 += (n + 1) / 2 + group_scales;
    m.fp8 += n + 4 * static_cast<uint64_t>(ceil_div(rows, 128) * ceil_div(cols, 128));
  }
  return m;
}

uint64_t kv_cache_bytes_per_token(const ModelConfig& config) {
  const auto layers = static_cast<uint64_t>(config.num_hidden_layers);
  if (config.is_deepseek()) {
    return static_cast<uint64_t>(config.mla.kv_lora_rank + config.mla.qk_rope_head_dim) * layers * 2;
  }
  return 2 * static_cast<uint64_t>(config.num_key_value_heads * config.head_dim) * layers * 2;
}

}  // namespace r1vk
