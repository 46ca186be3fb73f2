#include "import/gguf_dequantize.h"

#include <cstring>

#include "base/ggml_blocks.h"
#include "base/numeric_formats.h"

namespace r1vk {
namespace {

using ggml::k4_scale_min;

constexpr int kQK = 32;    // legacy quant block

float half_at(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return f16_to_f32(h);
}

// Q4_0: d (f16), 16 bytes of nibbles; value j (< 16) is the low nibble of byte j, value j + 16 the
// high nibble; x = (q - 8) * d.
void q4_0(const uint8_t* b, float* y) {
  const float d = half_at(b);
  const uint8_t* qs = b + 2;
  for (int j = 0; j < kQK / 2; ++j) {
    y[j] = static_cast<float>((qs[j] & 0x0F) - 8) * d;
    y[j + kQK / 2] = static_cast<float>((qs[j] >> 4) - 8) * d;
  }
}

// Q4_1: d, m (f16), nibbles as Q4_0; x = q * d + m.
void q4_1(const uint8_t* b, float* y) {
  const float d = half_at(b);
  const float m = half_at(b + 2);
  const uint8_t* qs = b + 4;
  for (int j = 0; j < kQK / 2; ++j) {
    y[j] = static_cast<float>(qs[j] & 0x0F) * d + m;
    y[j + kQK / 2] = static_cast<float>(qs[j] >> 4) * d + m;
  }
}

// Q5_0: d (f16), qh (u32: bit j is the fifth bit of value j), nibbles as Q4_0; x = (q - 16) * d.
void q5_0(const uint8_t* b, float* y) {
  const float d = half_at(b);
  uint32_t qh;
  std::memcpy(&qh, b + 2, 4);
  const uint8_t* qs = b + 6;
  for (int j = 0; j < kQK / 2; ++j) {
    const int lo = (qs[j] & 0x0F) | static_cast<int>(((qh >> j) & 1u) << 4);
    const int hi = (qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1u) << 4);
    y[j] = static_cast<float>(lo - 16) * d;
    y[j + kQK / 2] = static_cast<float>(hi - 16) * d;
  }
}

// Q5_1: d, m (f16), qh, nibbles; x = q * d + m.
void q5_1(const uint8_t* b, float* y) {
  const float d = half_at(b);
  const float m = half_at(b + 2);
  uint32_t qh;
  std::memcpy(&qh, b + 4, 4);
  const uint8_t* qs = b + 8;
  for (int j = 0; j < kQK / 2; ++j) {
    const int lo = (qs[j] & 0x0F) | static_cast<int>(((qh >> j) & 1u) << 4);
    const int hi = (qs[j] >> 4) | static_cast<int>(((qh >> (j + 16)) & 1u) << 4);
    y[j] = static_cast<float>(lo) * d + m;
    y[j + kQK / 2] = static_cast<float>(hi) * d + m;
  }
}

// Q2_K: scales[16] (low nibble: scale, high nibble: min, per 16 values), qs[64] (2-bit values),
// d, dmin (f16). Each 128-value half reads 32 bytes of qs four times at shifts 0, 2, 4, 6; each
// pass covers two groups of 16. x = d * scale * q - dmin * min.
void q2_k(const uint8_t* b, float* y) {
  const uint8_t* scales = b;
  const uint8_t* qs = b + 16;
  const float d = half_at(b + 80);
  const float dmin = half_at(b + 82);
  int group = 0;
  for (int half = 0; half < 2; ++half) {
    const uint8_t* q = qs + 32 * half;
    for (int shift = 0; shift < 8; shift += 2) {
      for (int part = 0; part < 2; ++part, ++group) {
        const float dl = d * static_cast<float>(scales[group] & 0x0F);
        const float ml = dmin * static_cast<float>(scales[group] >> 4);
        for (int l = 0; l < 16; ++l) *y++ = dl * static_cast<float>((q[16 * part + l] >> shift) & 3) - ml;
      }
    }
  }
}

// Q3_K: hmask[32] (third bit, one bit-plane per pass), qs[64] (low 2 bits), scales[12] (sixteen
// 6-bit scales: low 4 bits in bytes 0-7, high 2 bits in bytes 8-11), d (f16).
// x = d * (scale - 32) * (q2 - (hbit ? 0 : 4)).
int q3_k_scale(const uint8_t* s, int i) {
  const int low = i < 8 ? (s[i] & 0x0F) : (s[i - 8] >> 4);
  const int high = (s[8 + i % 4] >> (2 * (i / 4))) & 3;
  return (low | (high << 4)) - 32;
}

void q3_k(const uint8_t* b, float* y) {
  const uint8_t* hmask = b;
  const uint8_t* qs = b + 32;
  const uint8_t* scales = b + 96;
  const float d = half_at(b + 108);
  int group = 0;
  int plane = 0;
  for (int half = 0; half < 2; ++half) {
    const uint8_t* q = qs + 32 * half;
    for (int shift = 0; shift < 8; shift += 2, ++plane) {
      for (int part = 0; part < 2; ++part, ++group) {
        const float dl = d * static_cast<float>(q3_k_scale(scales, group));
        for (int l = 0; l < 16; ++l) {
          const int idx = 16 * part + l;
          const int low = (q[idx] >> shift) & 3;
          const int sub = (hmask[idx] >> plane) & 1 ? 0 : 4;
          *y++ = dl * static_cast<float>(low - sub);
        }
      }
    }
  }
}

// Q5_K: as Q4_K plus qh[32]: bit 2k of qh[l] is the fifth bit of value l of the low-nibble group
// of pass k, bit 2k + 1 of the high-nibble group.
void q5_k(const uint8_t* b, float* y) {
  const float d = half_at(b);
  const float dmin = half_at(b + 2);
  const uint8_t* scales = b + 4;
  const uint8_t* qh = b + 16;
  const uint8_t* q = b + 48;
  for (int j = 0; j < 4; ++j, q += 32) {
    int sc = 0, m = 0;
    k4_scale_min(scales, 2 * j, sc, m);
    const float d1 = d * static_cast<float>(sc), m1 = dmin * static_cast<float>(m);
    k4_scale_min(scales, 2 * j + 1, sc, m);
    const float d2 = d * static_cast<float>(sc), m2 = dmin * static_cast<float>(m);
    for (int l = 0; l < 32; ++l) {
      *y++ = d1 * static_cast<float>((q[l] & 0x0F) + (((qh[l] >> (2 * j)) & 1) << 4)) - m1;
    }
    for (int l = 0; l < 32; ++l) {
      *y++ = d2 * static_cast<float>((q[l] >> 4) + (((qh[l] >> (2 * j + 1)) & 1) << 4)) - m2;
    }
  }
}

using BlockFn = void (*)(const uint8_t*, float*);

BlockFn block_fn(GgmlType type) {
  switch (type) {
    case GgmlType::kQ4_0: return q4_0;
    case GgmlType::kQ4_1: return q4_1;
    case GgmlType::kQ5_0: return q5_0;
    case GgmlType::kQ5_1: return q5_1;
    case GgmlType::kQ8_0: return ggml::decode_q8_0;  // Q8_0, Q4_K, Q6_K: base/ggml_blocks.h
    case GgmlType::kQ2_K: return q2_k;
    case GgmlType::kQ3_K: return q3_k;
    case GgmlType::kQ4_K: return ggml::decode_q4_k;
    case GgmlType::kQ5_K: return q5_k;
    case GgmlType::kQ6_K: return ggml::decode_q6_k;
    default: return nullptr;
  }
}

}  // namespace

Status dequantize_ggml(GgmlType type, std::span<const uint8_t> src, std::span<float> dst) {
  const GgmlTypeInfo& info = ggml_type_info(type);
  if (!info.decodable) {
    return make_error(ErrorCode::kUnsupported, std::string("ggml type ") + info.name + " is not supported (supported: " +
                                                   decodable_ggml_type_names() + ")");
  }
  if (dst.size() % info.block_elements != 0) {
    return make_error(ErrorCode::kInvalidArgument, std::to_string(dst.size()) + " values are not whole " + info.name +
                                                       " blocks of " + std::to_string(info.block_elements));
  }
  const size_t blocks = dst.size() / info.block_elements;
  if (src.size() != blocks * info.block_bytes) {
    return make_error(ErrorCode::kInvalidArgument, std::string(info.name) + ": " + std::to_string(src.size()) +
                                                       " bytes do not hold " + std::to_string(blocks) + " blocks");
  }
  const uint8_t* p = src.data();
  float* y = dst.data();
  switch (type) {
    case GgmlType::kF32:
      std::memcpy(y, p, dst.size() * sizeof(float));
      return ok_status();
    case GgmlType::kF16:
      for (size_t k = 0; k < dst.size(); ++k) y[k] = half_at(p + 2 * k);
      return ok_status();
    case GgmlType::kBF16:
      for (size_t k = 0; k < dst.size(); ++k) {
        uint16_t h;
        std::memcpy(&h, p + 2 * k, 2);
        y[k] = bf16_to_f32(h);
      }
      return ok_status();
    default: break;
  }
  const BlockFn fn = block_fn(type);
  for (size_t k = 0; k < blocks; ++k) fn(p + k * info.block_bytes, y + k * info.block_elements);
  return ok_status();
}

}  // namespace r1vk
