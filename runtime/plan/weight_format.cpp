#include "plan/weight_format.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#if defined(__SSE2__)
#include <emmintrin.h>
#endif

#include "base/ggml_blocks.h"
#include "base/numeric_formats.h"
#include "base/parallel_for.h"

namespace r1vk {
namespace {

constexpr int64_t kRowsPerChunk = 64;

void put_f16(std::vector<uint8_t>& out, size_t index, float v) {
  const uint16_t h = f32_to_f16(v);
  std::memcpy(out.data() + 2 * index, &h, 2);
}

float get_f16(const std::vector<uint8_t>& in, size_t index) {
  uint16_t h;
  std::memcpy(&h, in.data() + 2 * index, 2);
  return f16_to_f32(h);
}

// std::clamp(std::nearbyint(v), lo, hi) for a range within +-2^22, bit for bit (default rounding
// mode: ties to even), without the libm call: nearbyintf is not inlined on baseline x86-64 (no
// SSE4.1) and was most of the q4 packing time of `r1vk compile`. Adding and removing 1.5 * 2^23
// leaves the nearest integer for |v| < 2^22; larger magnitudes (and inf) stay beyond the range
// and clamp to the same end, NaN stays NaN as with nearbyint.
float round_clamped(float v, float lo, float hi) {
  constexpr float kShift = 12582912.0f;  // 1.5 * 2^23
  const float r = std::fabs(v) < 4194304.0f ? (v + kShift) - kShift : v;
  return std::clamp(r, lo, hi);
}

// Symmetric 8-bit: scale = absmax / 127, rounded to f16 before the values are quantised so the
// stored pair (q, scale) is exactly what kernels multiply.
void quantize_q8_group(const float* x, int64_t n, int8_t* q, float& scale_out) {
  float amax = 0.0f;
  for (int64_t i = 0; i < n; ++i) amax = std::max(amax, std::fabs(x[i]));
  const float scale = f16_to_f32(f32_to_f16(amax / 127.0f));
  scale_out = scale;
  const float inv = scale > 0.0f ? 1.0f / scale : 0.0f;
  for (int64_t i = 0; i < n; ++i) q[i] = static_cast<int8_t>(round_clamped(x[i] * inv, -127.0f, 127.0f));
}

// Symmetric 4-bit over [-8, 7]: tries scales that map the largest-magnitude value near -8 and
// keeps the one with the least squared error (the lone -8 slot otherwise wastes a level).
// The candidates are tried side by side in one pass over x (lanes the compiler vectorises):
// each one's error still sums in index order, so the choice is that of trying them one after
// another, at a fraction of the time (this search was most of a q4 compile).
void quantize_q4_group(const float* x, int64_t n, int8_t* q, float& scale_out) {
  float m = 0.0f;
  for (int64_t i = 0; i < n; ++i)
    if (std::fabs(x[i]) > std::fabs(m)) m = x[i];
  if (m == 0.0f) {
    std::fill(q, q + n, int8_t{0});
    scale_out = 0.0f;
    return;
  }
  constexpr int kTrials = 9;   // t = -8, -7.875, ..., -7
  constexpr int kLanes = 12;   // padded to whole vectors; the extra lanes are ignored
  float scale[kLanes] = {}, inv[kLanes] = {}, err[kLanes] = {};
  bool usable[kTrials];
  for (int step = 0; step < kTrials; ++step) {
    const float t = -8.0f + 0.125f * static_cast<float>(step);
    const float s = f16_to_f32(f32_to_f16(m / t));
    usable[step] = s != 0.0f && std::isfinite(s);
    if (usable[step]) {
      scale[step] = s;
      inv[step] = 1.0f / s;
    }
  }
  // |xi * inv| <= 8 (plus f16 rounding) for a usable scale, so round_clamped's range test is not
  // needed here; NaN inputs stay NaN either way and never win.
  constexpr float kShift = 12582912.0f;  // 1.5 * 2^23, as in round_clamped
#if defined(__SSE2__)
  // Three 4-lane accumulators that stay in registers (the auto-vectorised loop kept them in
  // memory, a store-to-load chain per element). max(lo, r) and min(hi, r) return r when r is
  // NaN, as the scalar comparisons below do.
  const __m128 shift = _mm_set1_ps(kShift), lo = _mm_set1_ps(-8.0f), hi = _mm_set1_ps(7.0f);
  __m128 acc[3], vinv[3], vscale[3];
  for (int j = 0; j < 3; ++j) {
    acc[j] = _mm_setzero_ps();
    vinv[j] = _mm_loadu_ps(inv + 4 * j);
    vscale[j] = _mm_loadu_ps(scale + 4 * j);
  }
  for (int64_t i = 0; i < n; ++i) {
    const __m128 xi = _mm_set1_ps(x[i]);
    for (int j = 0; j < 3; ++j) {
      __m128 r = _mm_sub_ps(_mm_add_ps(_mm_mul_ps(xi, vinv[j]), shift), shift);
      r = _mm_min_ps(hi, _mm_max_ps(lo, r));
      const __m128 d = _mm_sub_ps(_mm_mul_ps(r, vscale[j]), xi);
      acc[j] = _mm_add_ps(acc[j], _mm_mul_ps(d, d));
    }
  }
  for (int j = 0; j < 3; ++j) _mm_storeu_ps(err + 4 * j, acc[j]);
#else
  for (int64_t i = 0; i < n; ++i) {
    const float xi = x[i];
    for (int k = 0; k < kLanes; ++k) {
      float r = (xi * inv[k] + kShift) - kShift;
      r = r < -8.0f ? -8.0f : r;
      r = 7.0f < r ? 7.0f : r;
      const float d = r * scale[k] - xi;
      err[k] += d * d;
    }
  }
#endif
  float best_err = INFINITY, best_scale = 0.0f;
  for (int step = 0; step < kTrials; ++step) {
    if (usable[step] && err[step] < best_err) {
      best_err = err[step];
      best_scale = scale[step];
    }
  }
  scale_out = best_scale;
  const float inv_best = 1.0f / best_scale;
  for (int64_t i = 0; i < n; ++i) q[i] = static_cast<int8_t>(round_clamped(x[i] * inv_best, -8.0f, 7.0f));
}

Status check_shape(std::span<const float> w, int64_t rows, int64_t cols) {
  if (rows <= 0 || cols <= 0) return make_error(ErrorCode::kInvalidArgument, "weight shape must be positive");
  if (static_cast<int64_t>(w.size()) != rows * cols) {
    return make_error(ErrorCode::kInvalidArgument, "weight holds " + std::to_string(w.size()) + " values, shape needs " +
                                                       std::to_string(rows * cols));
  }
  return ok_status();
}

using BlockEncode = void (*)(const float*, uint8_t*);
using BlockDecode = void (*)(const uint8_t*, float*);

BlockEncode block_encoder(WeightFormat f) {
  return f == WeightFormat::kQ8_0 ? ggml::encode_q8_0 : f == WeightFormat::kQ4K ? ggml::encode_q4_k : ggml::encode_q6_k;
}

BlockDecode block_decoder(WeightFormat f) {
  return f == WeightFormat::kQ8_0 ? ggml::decode_q8_0 : f == WeightFormat::kQ4K ? ggml::decode_q4_k : ggml::decode_q6_k;
}

Status check_whole_blocks(WeightFormat format, int64_t cols) {
  if (cols % ggml_block_values(format) == 0) return ok_status();
  return make_error(ErrorCode::kInvalidArgument, std::string(weight_format_name(format)) + " rows must be whole blocks of " +
                                                     std::to_string(ggml_block_values(format)) + " values, got " +
                                                     std::to_string(cols) + " columns");
}

}  // namespace

bool is_ggml_block_format(WeightFormat f) {
  return f == WeightFormat::kQ8_0 || f == WeightFormat::kQ4K || f == WeightFormat::kQ6K;
}

int64_t ggml_block_values(WeightFormat f) {
  switch (f) {
    case WeightFormat::kQ8_0: return ggml::kQ8_0Values;
    case WeightFormat::kQ4K:
    case WeightFormat::kQ6K: return ggml::kQ4KValues;
    default: return 0;
  }
}

int64_t ggml_block_bytes(WeightFormat f) {
  switch (f) {
    case WeightFormat::kQ8_0: return ggml::kQ8_0Bytes;
    case WeightFormat::kQ4K: return ggml::kQ4KBytes;
    case WeightFormat::kQ6K: return ggml::kQ6KBytes;
    default: return 0;
  }
}

const char* weight_format_name(WeightFormat f) {
  switch (f) {
    case WeightFormat::kF32: return "f32";
    case WeightFormat::kF16: return "f16";
    case WeightFormat::kQ8: return "q8";
    case WeightFormat::kQ4: return "q4";
    case WeightFormat::kFp8: return "fp8";
    case WeightFormat::kQ8_0: return "q8_0";
    case WeightFormat::kQ4K: return "q4_k";
    case WeightFormat::kQ6K: return "q6_k";
  }
  return "unknown";
}

Result<WeightFormat> parse_weight_format(const std::string& name) {
  for (WeightFormat f : {WeightFormat::kF32, WeightFormat::kF16, WeightFormat::kQ8, WeightFormat::kQ4, WeightFormat::kFp8,
                         WeightFormat::kQ8_0, WeightFormat::kQ4K, WeightFormat::kQ6K}) {
    if (name == weight_format_name(f)) return f;
  }
  return make_error(ErrorCode::kInvalidArgument,
                    "unknown weight format '" + name + "' (expected f32, f16, q8, q4, fp8, q8_0, q4_k or q6_k)");
}

Result<PackedWeight> pack_weight(std::span<const float> w, int64_t rows, int64_t cols, WeightFormat format,
                                 int64_t q4_group) {
  R1VK_TRY(check_shape(w, rows, cols));
  PackedWeight p;
  p.format = format;
  p.rows = rows;
  p.cols = cols;
  switch (format) {
    case WeightFormat::kF32: {
      p.data.resize(static_cast<size_t>(rows * cols) * 4);
      std::memcpy(p.data.data(), w.data(), p.data.size());
      return p;
    }
    case WeightFormat::kF16: {
      p.data.resize(static_cast<size_t>(rows * cols) * 2);
      parallel_for(rows * cols, 1 << 16, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) put_f16(p.data, static_cast<size_t>(i), w[i]);
      });
      return p;
    }
    case WeightFormat::kQ8:
    case WeightFormat::kQ4: {
      const bool q4 = format == WeightFormat::kQ4;
      if (q4 && q4_group != 32 && q4_group != 128) {
        return make_error(ErrorCode::kInvalidArgument, "q4 group size must be 32 or 128, got " + std::to_string(q4_group));
      }
      p.group = q4 ? q4_group : kQ8Group;
      const int64_t cp = p.cols_padded(), groups = cp / p.group;
      p.data.assign(static_cast<size_t>(q4 ? rows * cp / 2 : rows * cp), 0);
      p.scales.assign(static_cast<size_t>(rows * groups) * 2, 0);
      parallel_for(rows, kRowsPerChunk, [&](int64_t rb, int64_t re) {
        std::vector<float> buf(static_cast<size_t>(p.group));
        std::vector<int8_t> q(static_cast<size_t>(p.group));
        for (int64_t r = rb; r < re; ++r) {
          for (int64_t g = 0; g < groups; ++g) {
            const int64_t c0 = g * p.group;
            for (int64_t i = 0; i < p.group; ++i) buf[i] = c0 + i < cols ? w[r * cols + c0 + i] : 0.0f;
            float scale;
            if (q4) {
              quantize_q4_group(buf.data(), p.group, q.data(), scale);
              for (int64_t i = 0; i < p.group; i += 2) {
                const auto lo = static_cast<uint8_t>(q[i] + 8), hi = static_cast<uint8_t>(q[i + 1] + 8);
                p.data[static_cast<size_t>((r * cp + c0 + i) / 2)] = static_cast<uint8_t>(lo | (hi << 4));
              }
            } else {
              quantize_q8_group(buf.data(), p.group, q.data(), scale);
              std::memcpy(p.data.data() + r * cp + c0, q.data(), static_cast<size_t>(p.group));
            }
            put_f16(p.scales, static_cast<size_t>(r * groups + g), scale);
          }
        }
      });
      return p;
    }
    case WeightFormat::kFp8: {
      p.group = kFp8Block;
      const int64_t br = (rows + kFp8Block - 1) / kFp8Block, bc = (cols + kFp8Block - 1) / kFp8Block;
      p.data.resize(static_cast<size_t>(rows * cols));
      std::vector<float> scale(static_cast<size_t>(br * bc));
      parallel_for(br, 1, [&](int64_t bb, int64_t be) {
        for (int64_t bi = bb; bi < be; ++bi) {
          for (int64_t bj = 0; bj < bc; ++bj) {
            const int64_t r1 = std::min(rows, (bi + 1) * kFp8Block), c1 = std::min(cols, (bj + 1) * kFp8Block);
            float amax = 0.0f;
            for (int64_t r = bi * kFp8Block; r < r1; ++r)
              for (int64_t c = bj * kFp8Block; c < c1; ++c) amax = std::max(amax, std::fabs(w[r * cols + c]));
            const float s = amax > 0.0f ? amax / kFp8E4m3Max : 1.0f;
            scale[bi * bc + bj] = s;
            for (int64_t r = bi * kFp8Block; r < r1; ++r)
              for (int64_t c = bj * kFp8Block; c < c1; ++c) p.data[r * cols + c] = f32_to_fp8_e4m3(w[r * cols + c] / s);
          }
        }
      });
      p.scales.resize(scale.size() * 4);
      std::memcpy(p.scales.data(), scale.data(), p.scales.size());
      return p;
    }
    case WeightFormat::kQ8_0:
    case WeightFormat::kQ4K:
    case WeightFormat::kQ6K: {
      R1VK_TRY(check_whole_blocks(format, cols));
      const int64_t bv = ggml_block_values(format), bb = ggml_block_bytes(format);
      p.group = bv;
      p.data.resize(static_cast<size_t>(rows * cols / bv * bb));
      const BlockEncode encode = block_encoder(format);
      parallel_for(rows * cols / bv, kRowsPerChunk, [&](int64_t b, int64_t e) {
        for (int64_t i = b; i < e; ++i) encode(w.data() + i * bv, p.data.data() + i * bb);
      });
      return p;
    }
  }
  return make_error(ErrorCode::kInvalidArgument, "unknown weight format");
}

Result<PackedWeight> pack_ggml_blocks(WeightFormat format, std::span<const uint8_t> blocks, int64_t rows, int64_t cols) {
  if (!is_ggml_block_format(format)) return make_error(ErrorCode::kInvalidArgument, "not a ggml block format");
  if (rows <= 0 || cols <= 0) return make_error(ErrorCode::kInvalidArgument, "weight shape must be positive");
  R1VK_TRY(check_whole_blocks(format, cols));
  const uint64_t need = static_cast<uint64_t>(rows) * static_cast<uint64_t>(cols / ggml_block_values(format)) *
                        static_cast<uint64_t>(ggml_block_bytes(format));
  if (blocks.size() != need) {
    return make_error(ErrorCode::kInvalidArgument, std::string(weight_format_name(format)) + " weight [" + std::to_string(rows) +
                                                       ", " + std::to_string(cols) + "] needs " + std::to_string(need) +
                                                       " bytes, got " + std::to_string(blocks.size()));
  }
  PackedWeight p;
  p.format = format;
  p.rows = rows;
  p.cols = cols;
  p.group = ggml_block_values(format);
  p.data.assign(blocks.begin(), blocks.end());
  return p;
}

Result<PackedWeight> pack_fp8_checkpoint(std::span<const uint8_t> q, std::span<const float> scale_inv, int64_t rows,
                                         int64_t cols) {
  const int64_t br = (rows + kFp8Block - 1) / kFp8Block, bc = (cols + kFp8Block - 1) / kFp8Block;
  if (rows <= 0 || cols <= 0 || static_cast<int64_t>(q.size()) != rows * cols ||
      static_cast<int64_t>(scale_inv.size()) != br * bc) {
    return make_error(ErrorCode::kInvalidArgument, "fp8 weight [" + std::to_string(rows) + ", " + std::to_string(cols) +
                                                       "] needs " + std::to_string(br * bc) + " block scales");
  }
  PackedWeight p;
  p.format = WeightFormat::kFp8;
  p.rows = rows;
  p.cols = cols;
  p.group = kFp8Block;
  p.data.assign(q.begin(), q.end());
  p.scales.resize(scale_inv.size() * 4);
  std::memcpy(p.scales.data(), scale_inv.data(), p.scales.size());
  return p;
}

namespace {

Status check_packed_shape(WeightFormat format, int64_t rows, int64_t cols, int64_t group) {
  constexpr int64_t kMaxDim = int64_t{1} << 31;
  if (rows <= 0 || cols <= 0 || rows > kMaxDim || cols > kMaxDim) {
    return make_error(ErrorCode::kCorruptData, "tensor shape [" + std::to_string(rows) + ", " + std::to_string(cols) + "] is invalid");
  }
  const bool group_ok = (format == WeightFormat::kQ8 && group == kQ8Group) ||
                        (format == WeightFormat::kQ4 && (group == 32 || group == 128)) ||
                        (format == WeightFormat::kFp8 && group == kFp8Block) ||
                        (is_ggml_block_format(format) && group == ggml_block_values(format)) ||
                        ((format == WeightFormat::kF32 || format == WeightFormat::kF16) && group == 0);
  if (!group_ok) {
    return make_error(ErrorCode::kCorruptData, std::string("group size ") + std::to_string(group) + " is invalid for " +
                                                   weight_format_name(format));
  }
  if (is_ggml_block_format(format) && cols % group != 0) {
    return make_error(ErrorCode::kCorruptData, std::string(weight_format_name(format)) + " rows of " + std::to_string(cols) +
                                                   " columns are not whole blocks");
  }
  return ok_status();
}

}  // namespace

Result<uint64_t> packed_data_bytes(WeightFormat format, int64_t rows, int64_t cols, int64_t group) {
  R1VK_TRY(check_packed_shape(format, rows, cols, group));
  const uint64_t r = static_cast<uint64_t>(rows);
  const uint64_t padded = group > 0 ? static_cast<uint64_t>((cols + group - 1) / group * group) : static_cast<uint64_t>(cols);
  switch (format) {
    case WeightFormat::kF32: return r * static_cast<uint64_t>(cols) * 4;
    case WeightFormat::kF16: return r * static_cast<uint64_t>(cols) * 2;
    case WeightFormat::kQ8: return r * padded;
    case WeightFormat::kQ4: return r * padded / 2;
    case WeightFormat::kFp8: return r * static_cast<uint64_t>(cols);
    case WeightFormat::kQ8_0:
    case WeightFormat::kQ4K:
    case WeightFormat::kQ6K:
      return r * static_cast<uint64_t>(cols / group) * static_cast<uint64_t>(ggml_block_bytes(format));
  }
  return make_error(ErrorCode::kCorruptData, "unknown weight format");
}

Result<uint64_t> packed_scale_bytes(WeightFormat format, int64_t rows, int64_t cols, int64_t group) {
  R1VK_TRY(check_packed_shape(format, rows, cols, group));
  switch (format) {
    case WeightFormat::kF32:
    case WeightFormat::kF16:
    case WeightFormat::kQ8_0:
    case WeightFormat::kQ4K:
    case WeightFormat::kQ6K: return uint64_t{0};
    case WeightFormat::kQ8:
    case WeightFormat::kQ4: return static_cast<uint64_t>(rows) * static_cast<uint64_t>((cols + group - 1) / group) * 2;
    case WeightFormat::kFp8:
      return static_cast<uint64_t>((rows + kFp8Block - 1) / kFp8Block) * static_cast<uint64_t>((cols + kFp8Block - 1) / kFp8Block) * 4;
  }
  return make_error(ErrorCode::kCorruptData, "unknown weight format");
}

namespace {

// Rows [r0, r1) of the matrix `p` stands for, into out ((r1 - r0) * cols floats): one scale per
// group or block, the same products as decoding element by element.
void unpack_rows(const PackedWeight& p, int64_t r0, int64_t r1, float* out) {
  const int64_t cols = p.cols;
  if (is_ggml_block_format(p.format)) {
    const int64_t bv = ggml_block_values(p.format), bb = ggml_block_bytes(p.format);
    const BlockDecode decode = block_decoder(p.format);
    const int64_t stored = static_cast<int64_t>(p.data.size()) / bb;
    const int64_t first = r0 * cols / bv, last = r1 * cols / bv;
    std::fill(out, out + (r1 - r0) * cols, 0.0f);  // blocks missing from a short blob read as 0
    for (int64_t i = first; i < std::min(last, stored); ++i) decode(p.data.data() + i * bb, out + (i - first) * bv);
    return;
  }
  const int64_t cp = p.cols_padded();
  for (int64_t r = r0; r < r1; ++r) {
    float* o = out + (r - r0) * cols;
    switch (p.format) {
      case WeightFormat::kF32: std::memcpy(o, p.data.data() + 4 * r * cols, static_cast<size_t>(cols) * 4); break;
      case WeightFormat::kF16:
        for (int64_t c = 0; c < cols; ++c) o[c] = get_f16(p.data, static_cast<size_t>(r * cols + c));
        break;
      case WeightFormat::kQ8:
      case WeightFormat::kQ4: {
        const int64_t groups = cp / p.group;
        for (int64_t g = 0; g < groups; ++g) {
          const float s = get_f16(p.scales, static_cast<size_t>(r * groups + g));
          const int64_t c1 = std::min(cols, (g + 1) * p.group);
          if (p.format == WeightFormat::kQ8) {
            for (int64_t c = g * p.group; c < c1; ++c) o[c] = static_cast<float>(static_cast<int8_t>(p.data[r * cp + c])) * s;
          } else {
            for (int64_t c = g * p.group; c < c1; ++c) {
              const uint8_t byte = p.data[static_cast<size_t>((r * cp + c) / 2)];
              const int q = ((c & 1) ? (byte >> 4) : (byte & 0xF)) - 8;
              o[c] = static_cast<float>(q) * s;
            }
          }
        }
        break;
      }
      case WeightFormat::kFp8: {
        const float* value = fp8_e4m3_table();
        const int64_t bc = (cols + kFp8Block - 1) / kFp8Block;
        for (int64_t b = 0; b < bc; ++b) {
          float s;
          std::memcpy(&s, p.scales.data() + 4 * ((r / kFp8Block) * bc + b), 4);
          const int64_t c1 = std::min(cols, (b + 1) * kFp8Block);
          for (int64_t c = b * kFp8Block; c < c1; ++c) o[c] = value[p.data[static_cast<size_t>(r * cols + c)]] * s;
        }
        break;
      }
      default: break;  // block formats: above
    }
  }
}

void add_squared_errors(const float* reference, const float* approx, size_t n, SquaredErrorSums& s) {
  for (size_t i = 0; i < n; ++i) {
    const double d = static_cast<double>(reference[i]) - approx[i];
    s.error += d * d;
    s.reference += static_cast<double>(reference[i]) * reference[i];
  }
}

}  // namespace

std::vector<float> unpack_weight(const PackedWeight& p) {
  std::vector<float> w(static_cast<size_t>(p.rows * p.cols));
  if (is_ggml_block_format(p.format) && p.cols % ggml_block_values(p.format) != 0) {
    // Blocks that straddle rows (not written by pack_weight): decode the blob as one run.
    const int64_t bv = ggml_block_values(p.format), bb = ggml_block_bytes(p.format);
    const BlockDecode decode = block_decoder(p.format);
    const int64_t blocks = std::min<int64_t>(p.rows * p.cols / bv, static_cast<int64_t>(p.data.size()) / bb);
    for (int64_t i = 0; i < blocks; ++i) decode(p.data.data() + i * bb, w.data() + i * bv);
    return w;
  }
  unpack_rows(p, 0, p.rows, w.data());
  return w;
}

SquaredErrorSums squared_error_sums(std::span<const float> reference, const PackedWeight& packed) {
  if (is_ggml_block_format(packed.format) && packed.cols % ggml_block_values(packed.format) != 0) {
    return squared_error_sums(reference, unpack_weight(packed));
  }
  SquaredErrorSums s;
  const size_t n = std::min(reference.size(), static_cast<size_t>(packed.rows * packed.cols));
  std::vector<float> row(static_cast<size_t>(packed.cols));
  for (int64_t r = 0; static_cast<size_t>(r * packed.cols) < n; ++r) {
    unpack_rows(packed, r, r + 1, row.data());
    const size_t begin = static_cast<size_t>(r * packed.cols);
    add_squared_errors(reference.data() + begin, row.data(), std::min(n - begin, row.size()), s);
  }
  return s;
}

SquaredErrorSums squared_error_sums(std::span<const float> reference, std::span<const float> approx) {
  SquaredErrorSums s;
  add_squared_errors(reference.data(), approx.data(), std::min(reference.size(), approx.size()), s);
  return s;
}

double normalized_mse(std::span<const float> reference, std::span<const float> approx) {
  return squared_error_sums(reference, approx).error_ratio();
}

}  // namespace r1vk
