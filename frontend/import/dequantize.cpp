#include "import/dequantize.h"

#include <algorithm>
#include <cstring>

#include "base/numeric_formats.h"

namespace r1vk {
namespace {

template <typename T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));  // little-endian host, possibly unaligned source
  return v;
}

template <typename T>
void convert_each(std::span<const uint8_t> src, std::span<float> dst) {
  for (size_t i = 0; i < dst.size(); ++i) dst[i] = static_cast<float>(load<T>(src.data() + i * sizeof(T)));
}

}  // namespace

Status convert_to_f32(DType dtype, std::span<const uint8_t> src, std::span<float> dst) {
  if (src.size() != dst.size() * dtype_size(dtype)) {
    return make_error(ErrorCode::kInternal, "convert_to_f32: " + std::to_string(src.size()) + " bytes for " +
                                                std::to_string(dst.size()) + " elements of " + dtype_name(dtype));
  }
  const uint8_t* s = src.data();
  switch (dtype) {
    case DType::kF32: convert_each<float>(src, dst); break;
    case DType::kF64: convert_each<double>(src, dst); break;
    case DType::kF16:
      for (size_t i = 0; i < dst.size(); ++i) dst[i] = f16_to_f32(load<uint16_t>(s + 2 * i));
      break;
    case DType::kBF16:
      for (size_t i = 0; i < dst.size(); ++i) dst[i] = bf16_to_f32(load<uint16_t>(s + 2 * i));
      break;
    case DType::kF8E4M3: {
      const float* value = fp8_e4m3_table();
      for (size_t i = 0; i < dst.size(); ++i) dst[i] = value[s[i]];
      break;
    }
    case DType::kI64: convert_each<int64_t>(src, dst); break;
    case DType::kI32: convert_each<int32_t>(src, dst); break;
    case DType::kI16: convert_each<int16_t>(src, dst); break;
    case DType::kI8: convert_each<int8_t>(src, dst); break;
    case DType::kU64: convert_each<uint64_t>(src, dst); break;
    case DType::kU32: convert_each<uint32_t>(src, dst); break;
    case DType::kU16: convert_each<uint16_t>(src, dst); break;
    case DType::kU8: convert_each<uint8_t>(src, dst); break;
    case DType::kF8E5M2:
    case DType::kBool:
      return make_error(ErrorCode::kUnsupported, std::string("no f32 conversion for dtype ") + dtype_name(dtype));
  }
  return ok_status();
}

void dequantize_fp8_rows(std::span<const uint8_t> q, std::span<const uint8_t> scale_bytes, int64_t row_begin,
                         int64_t row_end, int64_t cols, int64_t block_n, int64_t block_k, std::span<float> dst) {
  // One scale per run of block_k columns, the byte's value from a table: the same products as
  // fp8_e4m3_to_f32(q) * scale per element, at memory speed (this is most of compiling an FP8
  // checkpoint).
  const float* value = fp8_e4m3_table();
  const int64_t scale_cols = ceil_div(cols, block_k);
  for (int64_t i = row_begin; i < row_end; ++i) {
    const uint8_t* row_q = q.data() + (i - row_begin) * cols;
    float* row_out = dst.data() + (i - row_begin) * cols;
    const uint8_t* scale_row = scale_bytes.data() + 4 * (i / block_n) * scale_cols;
    for (int64_t b = 0; b < scale_cols; ++b) {
      const float scale = load<float>(scale_row + 4 * b);
      const int64_t j1 = std::min(cols, (b + 1) * block_k);
      for (int64_t j = b * block_k; j < j1; ++j) row_out[j] = value[row_q[j]] * scale;
    }
  }
}

void dequantize_fp8_blockwise(std::span<const uint8_t> q, std::span<const uint8_t> scale_bytes, int64_t rows,
                              int64_t cols, int64_t block_n, int64_t block_k, std::span<float> dst) {
  dequantize_fp8_rows(q, scale_bytes, 0, rows, cols, block_n, block_k, dst);
}

}  // namespace r1vk
