// Exact conversion of checkpoint element types to f32, including DeepSeek's FP8 block scaling
// (MODEL_SPEC.md §3): W[i][j] = fp8(W_q[i][j]) * scale_inv[i / block_n][j / block_k].
#pragma once

#include <cstdint>
#include <span>

#include "base/status.h"
#include "import/dtype.h"

namespace r1vk {

// `src` holds dst.size() little-endian elements of `dtype` (no alignment needed).
// Floating types convert exactly; integers convert as static_cast<float>. BOOL is rejected.
Status convert_to_f32(DType dtype, std::span<const uint8_t> src, std::span<float> dst);

// `q` is a rows x cols F8_E4M3 matrix, `scale_bytes` an F32 [ceil(rows/block_n), ceil(cols/block_k)]
// matrix of per-block multipliers; sizes are checked by the caller.
void dequantize_fp8_blockwise(std::span<const uint8_t> q, std::span<const uint8_t> scale_bytes, int64_t rows,
                              int64_t cols, int64_t block_n, int64_t block_k, std::span<float> dst);

// Rows [row_begin, row_end) of such a matrix: `q` and `dst` hold just those rows
// ((row_end - row_begin) * cols values), `scale_bytes` the whole scale matrix.
void dequantize_fp8_rows(std::span<const uint8_t> q, std::span<const uint8_t> scale_bytes, int64_t row_begin,
                         int64_t row_end, int64_t cols, int64_t block_n, int64_t block_k, std::span<float> dst);

inline int64_t ceil_div(int64_t a, int64_t b) { return (a + b - 1) / b; }

}  // namespace r1vk
