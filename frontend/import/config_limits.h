// The largest values a model configuration may state, whatever file it comes from (config.json or
// GGUF metadata): far above every published model, low enough that sizes derived from them cannot
// overflow 64-bit arithmetic. A value past one is refused as corrupt rather than allocated.
#pragma once

#include <cstdint>

namespace r1vk::config_limits {

constexpr int64_t kMaxDim = 1 << 20;
constexpr int64_t kMaxVocab = 1 << 24;
constexpr int64_t kMaxLayers = 1024;
constexpr int64_t kMaxHeads = 4096;
constexpr int64_t kMaxExperts = 8192;
constexpr int64_t kMaxPositions = int64_t{1} << 24;

}  // namespace r1vk::config_limits
