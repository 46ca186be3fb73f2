// ggml block formats -> f32, following the published block layouts (ggml-common.h) and ggml's
// reference dequantisation: F32, F16, BF16, Q4_0, Q4_1, Q5_0, Q5_1, Q8_0 (blocks of 32) and
// Q2_K, Q3_K, Q4_K, Q5_K, Q6_K (super-blocks of 256). All scales are f16 except Q6_K's int8
// sub-scales; results are exact in f32 arithmetic as ggml computes them.
#pragma once

#include <cstdint>
#include <span>

#include "base/status.h"
#include "import/gguf_types.h"

namespace r1vk {

// `src` holds whole blocks for dst.size() values (dst.size() a multiple of the block size,
// src.size() = blocks x block bytes; both checked). Non-decodable types are kUnsupported.
Status dequantize_ggml(GgmlType type, std::span<const uint8_t> src, std::span<float> dst);

}  // namespace r1vk
