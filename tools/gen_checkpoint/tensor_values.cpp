#include "tensor_values.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/numeric_formats.h"
#include "import/dequantize.h"

namespace r1vk::gen {
namespace {

uint64_t splitmix64(uint64_t& x) {
  uint64_t z = (x += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

uint64_t hash_name(const std::string& name) {
  uint64_t h = 0xCBF29CE484222325ull;  // FNV-1a
  for (char c : name) h = (h ^ static_cast<uint8_t>(c)) * 0x100000001B3ull;
  return h;
}

constexpr size_t kChunkElements = size_t{1} << 20;

Status write_bf16_rows(TensorValues& values, uint64_t count, ByteSink& sink) {
  std::vector<float> f(std::min<uint64_t>(count, kChunkElements));
  std::vector<uint16_t> b(f.size());
  for (uint64_t done = 0; done < count;) {
    const auto n = static_cast<size_t>(std::min<uint64_t>(count - done, f.size()));
    values.fill({f.data(), n});
    for (size_t i = 0; i < n; ++i) b[i] = f32_to_bf16(f[i]);
    R1VK_TRY(sink.write({reinterpret_cast<const uint8_t*>(b.data()), 2 * n}));
    done += n;
  }
  return ok_status();
}

// One band of block_n rows at a time: the scale of each block maps its largest |w| to 448.
Status write_fp8_rows(TensorValues& values, int64_t rows, int64_t cols, int64_t bn, int64_t bk, ByteSink& sink,
                      std::vector<float>& scales) {
  std::vector<float> band(static_cast<size_t>(bn * cols));
  std::vector<uint8_t> q(band.size());
  const int64_t block_cols = ceil_div(cols, bk);
  for (int64_t r0 = 0; r0 < rows; r0 += bn) {
    const int64_t nr = std::min(bn, rows - r0);
    const auto n = static_cast<size_t>(nr * cols);
    values.fill({band.data(), n});
    for (int64_t bc = 0; bc < block_cols; ++bc) {
      const int64_t c0 = bc * bk;
      const int64_t c1 = std::min(cols, c0 + bk);
      float amax = 0;
      for (int64_t r = 0; r < nr; ++r)
        for (int64_t c = c0; c < c1; ++c) amax = std::max(amax, std::fabs(band[static_cast<size_t>(r * cols + c)]));
      const float scale = amax > 0 ? amax / kFp8E4m3Max : 1.0f;
      scales.push_back(scale);
      for (int64_t r = 0; r < nr; ++r)
        for (int64_t c = c0; c < c1; ++c) {
          const auto k = static_cast<size_t>(r * cols + c);
          q[k] = f32_to_fp8_e4m3(band[k] / scale);
        }
    }
    R1VK_TRY(sink.write({q.data(), n}));
  }
  return ok_status();
}

}  // namespace

TensorValues::TensorValues(uint64_t seed, const ExpectedTensor& tensor) : state_(seed ^ hash_name(tensor.name)) {
  const int64_t fan_in = tensor.shape.size() == 2 ? tensor.shape[1] : 1;
  const float sqrt3 = std::sqrt(3.0f);  // U(-a, a) has std a / sqrt(3)
  switch (tensor.role) {
    case TensorRole::kNorm: center_ = 1.0f; half_width_ = 0.1f; break;
    case TensorRole::kBias:
    case TensorRole::kCorrectionBias: half_width_ = 0.05f; break;
    case TensorRole::kEmbedding: half_width_ = sqrt3; break;
    default: half_width_ = sqrt3 / std::sqrt(static_cast<float>(std::max<int64_t>(fan_in, 1))); break;
  }
}

void TensorValues::fill(std::span<float> out) {
  for (float& v : out) {
    const auto u = static_cast<float>(splitmix64(state_) >> 40) * (1.0f / 16777216.0f);  // [0, 1)
    v = center_ + half_width_ * (2.0f * u - 1.0f);
  }
}

Status write_f32(std::span<const float> values, ByteSink& sink) {
  return sink.write({reinterpret_cast<const uint8_t*>(values.data()), values.size() * sizeof(float)});
}

Status write_tensor_values(uint64_t seed, const ExpectedTensor& tensor, DType dtype, int64_t block_n, int64_t block_k,
                           ByteSink& sink, std::vector<float>& fp8_scales) {
  TensorValues values(seed, tensor);
  uint64_t count = 1;
  for (int64_t d : tensor.shape) count *= static_cast<uint64_t>(d);
  switch (dtype) {
    case DType::kBF16: return write_bf16_rows(values, count, sink);
    case DType::kF8E4M3: return write_fp8_rows(values, tensor.shape[0], tensor.shape[1], block_n, block_k, sink, fp8_scales);
    case DType::kF32: {
      std::vector<float> f(static_cast<size_t>(count));
      values.fill(f);
      return write_f32(f, sink);
    }
    default:
      return make_error(ErrorCode::kInternal, std::string("generator cannot write ") + dtype_name(dtype));
  }
}

}  // namespace r1vk::gen
