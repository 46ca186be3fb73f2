// Storage formats of linear weights in a plan (DESIGN.md decision 5) and their exact byte layout,
// which the GEMV/GEMM kernels read. All formats keep the nn.Linear orientation: `rows` outputs,
// each a run of `cols` inputs.
//
//   f16  data: rows * cols halves, row-major.
//   q8   data: rows * cols_padded int8; scales: rows * cols_padded/32 halves (one per group of 32
//        inputs). w = q * scale, q in [-127, 127].
//   q4   data: rows * cols_padded/2 bytes, element 2i in the low nibble of byte i, 2i+1 in the high
//        nibble, each nibble q+8 for q in [-8, 7]; scales: rows * cols_padded/group halves,
//        group 32 or 128. w = q * scale.
//   fp8  data: rows * cols e4m3 bytes; scales: ceil(rows/128) * ceil(cols/128) f32 `scale_inv`
//        values as DeepSeek ships them. w = fp8(q) * scale_inv[r/128][c/128].
//   q8_0, q4_k, q6_k  (GGUF blocks kept verbatim, docs/gguf.md) data: each row is cols / B blocks
//        of ggml's layout (base/ggml_blocks.h): q8_0 B = 32 values in 34 bytes, q4_k and q6_k
//        B = 256 values in 144 / 210 bytes; cols must be a multiple of B; no scales blob (the
//        scales are inside the blocks); group = B.
// cols_padded rounds cols up to the group size; padding weights are zero so kernels may read a
// whole last group as long as they treat inputs past `cols` as zero.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"

namespace r1vk {

enum class WeightFormat : uint8_t { kF32 = 0, kF16 = 1, kQ8 = 2, kQ4 = 3, kFp8 = 4, kQ8_0 = 5, kQ4K = 6, kQ6K = 7 };

// The GGUF block formats (q8_0, q4_k, q6_k): values and bytes per block; 0 for other formats.
bool is_ggml_block_format(WeightFormat f);
int64_t ggml_block_values(WeightFormat f);
int64_t ggml_block_bytes(WeightFormat f);

const char* weight_format_name(WeightFormat f);
Result<WeightFormat> parse_weight_format(const std::string& name);

inline constexpr int64_t kQ8Group = 32;
inline constexpr int64_t kFp8Block = 128;

struct PackedWeight {
  WeightFormat format = WeightFormat::kF16;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t group = 0;  // q8: 32; q4: 32 or 128; fp8: 128 (square blocks); q8_0: 32; q4_k/q6_k: 256; f16/f32: 0
  std::vector<uint8_t> data;
  std::vector<uint8_t> scales;

  int64_t cols_padded() const {
    const bool padded = format == WeightFormat::kQ8 || format == WeightFormat::kQ4;
    return padded ? (cols + group - 1) / group * group : cols;
  }
};

// Packs a row-major f32 matrix. q4_group must be 32 or 128 (ignored by other formats). The ggml
// block formats quantise with base/ggml_blocks.h's encoders; cols must be whole blocks.
Result<PackedWeight> pack_weight(std::span<const float> w, int64_t rows, int64_t cols, WeightFormat format,
                                 int64_t q4_group = 32);

// Wraps an FP8 checkpoint tensor and its block scales without requantising.
Result<PackedWeight> pack_fp8_checkpoint(std::span<const uint8_t> q, std::span<const float> scale_inv, int64_t rows,
                                         int64_t cols);

// Wraps rows of GGUF blocks (q8_0 / q4_k / q6_k) without requantising: `blocks` holds
// rows * cols / B blocks, row-major.
Result<PackedWeight> pack_ggml_blocks(WeightFormat format, std::span<const uint8_t> blocks, int64_t rows, int64_t cols);

// Byte sizes a packed tensor of this shape must have (what the loader checks blobs against).
// Returns an error for shapes no format accepts (non-positive, unknown group size).
Result<uint64_t> packed_data_bytes(WeightFormat format, int64_t rows, int64_t cols, int64_t group);
Result<uint64_t> packed_scale_bytes(WeightFormat format, int64_t rows, int64_t cols, int64_t group);

// The f32 matrix the packed weight stands for (what kernels must compute with).
std::vector<float> unpack_weight(const PackedWeight& p);

// sum((a-b)^2) / sum(a^2): the error measure reported per tensor and used in tolerances.
double normalized_mse(std::span<const float> reference, std::span<const float> approx);

// The two sums of normalized_mse, accumulated in double in index order, so a tensor measured in
// slices adds the slices' sums in row order (error_ratio() then gives the same measure up to
// summation order; one slice gives exactly normalized_mse).
struct SquaredErrorSums {
  double error = 0.0;      // sum((a-b)^2)
  double reference = 0.0;  // sum(a^2)
  void add(const SquaredErrorSums& o) {
    error += o.error;
    reference += o.reference;
  }
  double error_ratio() const { return reference > 0.0 ? error / reference : error; }
};
SquaredErrorSums squared_error_sums(std::span<const float> reference, std::span<const float> approx);
// The same sums against what `packed` stands for, decoded a row at a time (no unpacked copy of
// the tensor: the compiler measures every slice it packs this way).
SquaredErrorSums squared_error_sums(std::span<const float> reference, const PackedWeight& packed);

}  // namespace r1vk
