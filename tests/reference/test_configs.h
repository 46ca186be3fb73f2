// Small hand-written configs of every architecture, with deliberately odd sizes, and a
// deterministic random weight source for them. Shared by reference and compiler tests.
#pragma once

#include <cstdint>

#include "import/model_config.h"
#include "import/weight_source.h"

namespace r1vk::testing {

ModelConfig tiny_deepseek_v3();  // q LoRA, sigmoid + bias + groups, YaRN, MTP layer
ModelConfig tiny_deepseek_v2();  // no q LoRA, softmax, group-limited greedy, 2 shared experts
ModelConfig tiny_qwen2();        // GQA with q/k/v bias
ModelConfig tiny_llama();        // GQA, llama3 rope scaling, tied embeddings

// Norms near 1, matrices ~ N(0, 0.08^2), biases ~ N(0, 0.1^2); the same name and seed always
// give the same values.
WeightFn random_weights(uint32_t seed);

}  // namespace r1vk::testing
