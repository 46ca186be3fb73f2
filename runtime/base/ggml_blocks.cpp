#include "base/ggml_blocks.h"

#include <algorithm>
#include <cmath>
#include <cstring>

#include "base/numeric_formats.h"

namespace r1vk::ggml {
namespace {

float half_at(const uint8_t* p) {
  uint16_t h;
  std::memcpy(&h, p, 2);
  return f16_to_f32(h);
}

// Stores v as f16 and returns the value the stored half stands for.
float put_half(uint8_t* p, float v) {
  const uint16_t h = f32_to_f16(v);
  std::memcpy(p, &h, 2);
  return f16_to_f32(h);
}

int round_clamp(float v, int lo, int hi) {
  return std::clamp(static_cast<int>(std::lround(v)), lo, hi);
}

}  // namespace

void k4_scale_min(const uint8_t* s, int j, int& sc, int& m) {
  if (j < 4) {
    sc = s[j] & 63;
    m = s[j + 4] & 63;
  } else {
    sc = (s[j + 4] & 0x0F) | ((s[j - 4] >> 6) << 4);
    m = (s[j + 4] >> 4) | ((s[j] >> 6) << 4);
  }
}

void decode_q8_0(const uint8_t* b, float* y) {
  const float d = half_at(b);
  for (int j = 0; j < kQ8_0Values; ++j) y[j] = static_cast<float>(static_cast<int8_t>(b[2 + j])) * d;
}

void decode_q4_k(const uint8_t* b, float* y) {
  const float d = half_at(b);
  const float dmin = half_at(b + 2);
  const uint8_t* scales = b + 4;
  const uint8_t* q = b + 16;
  for (int j = 0; j < 4; ++j, q += 32) {
    int sc = 0, m = 0;
    k4_scale_min(scales, 2 * j, sc, m);
    const float d1 = d * static_cast<float>(sc), m1 = dmin * static_cast<float>(m);
    k4_scale_min(scales, 2 * j + 1, sc, m);
    const float d2 = d * static_cast<float>(sc), m2 = dmin * static_cast<float>(m);
    for (int l = 0; l < 32; ++l) *y++ = d1 * static_cast<float>(q[l] & 0x0F) - m1;
    for (int l = 0; l < 32; ++l) *y++ = d2 * static_cast<float>(q[l] >> 4) - m2;
  }
}

void decode_q6_k(const uint8_t* b, float* y) {
  const uint8_t* ql = b;
  const uint8_t* qh = b + 128;
  const int8_t* sc = reinterpret_cast<const int8_t*>(b + 192);
  const float d = half_at(b + 208);
  for (int half = 0; half < 2; ++half, ql += 64, qh += 32, sc += 8, y += 128) {
    for (int l = 0; l < 32; ++l) {
      const int is = l / 16;
      const int q1 = ((ql[l] & 0x0F) | (((qh[l] >> 0) & 3) << 4)) - 32;
      const int q2 = ((ql[l + 32] & 0x0F) | (((qh[l] >> 2) & 3) << 4)) - 32;
      const int q3 = ((ql[l] >> 4) | (((qh[l] >> 4) & 3) << 4)) - 32;
      const int q4 = ((ql[l + 32] >> 4) | (((qh[l] >> 6) & 3) << 4)) - 32;
      y[l] = d * static_cast<float>(sc[is]) * static_cast<float>(q1);
      y[l + 32] = d * static_cast<float>(sc[is + 2]) * static_cast<float>(q2);
      y[l + 64] = d * static_cast<float>(sc[is + 4]) * static_cast<float>(q3);
      y[l + 96] = d * static_cast<float>(sc[is + 6]) * static_cast<float>(q4);
    }
  }
}

// d = max|x| / 127 (as f16), q = round(x / d).
void encode_q8_0(const float* x, uint8_t* dst) {
  float amax = 0.0f;
  for (int j = 0; j < kQ8_0Values; ++j) amax = std::max(amax, std::fabs(x[j]));
  const float d = put_half(dst, amax / 127.0f);
  const float inv = d > 0.0f ? 1.0f / d : 0.0f;
  for (int j = 0; j < kQ8_0Values; ++j) dst[2 + j] = static_cast<uint8_t>(static_cast<int8_t>(round_clamp(x[j] * inv, -127, 127)));
}

// Per 32 values: min m_f = max(0, -min x), scale s_f = (max x + m_f) / 15. The super-block's d
// and dmin map the largest s_f and m_f to 63; each group's 6-bit pair rounds s_f / d, m_f / dmin
// (scale rounded up so the range still fits), then q = round((x + dmin m) / (d sc)) in 0..15.
void encode_q4_k(const float* x, uint8_t* dst) {
  float s_f[8], m_f[8];
  float s_max = 0.0f, m_max = 0.0f;
  for (int g = 0; g < 8; ++g) {
    float lo = 0.0f, hi = 0.0f;
    for (int l = 0; l < 32; ++l) {
      lo = std::min(lo, x[32 * g + l]);
      hi = std::max(hi, x[32 * g + l]);
    }
    m_f[g] = -lo;
    s_f[g] = (hi - lo) / 15.0f;
    s_max = std::max(s_max, s_f[g]);
    m_max = std::max(m_max, m_f[g]);
  }
  const float d = put_half(dst, s_max / 63.0f);
  const float dmin = put_half(dst + 2, m_max / 63.0f);
  int sc[8], m[8];
  for (int g = 0; g < 8; ++g) {
    sc[g] = d > 0.0f ? std::clamp(static_cast<int>(std::ceil(s_f[g] / d)), 0, 63) : 0;
    m[g] = dmin > 0.0f ? round_clamp(m_f[g] / dmin, 0, 63) : 0;
  }
  uint8_t* s = dst + 4;
  for (int j = 0; j < 4; ++j) {
    s[j] = static_cast<uint8_t>((sc[j] & 63) | ((sc[j + 4] >> 4) << 6));
    s[j + 4] = static_cast<uint8_t>((m[j] & 63) | ((m[j + 4] >> 4) << 6));
    s[j + 8] = static_cast<uint8_t>((sc[j + 4] & 15) | ((m[j + 4] & 15) << 4));
  }
  uint8_t* qs = dst + 16;
  for (int j = 0; j < 4; ++j) {
    for (int l = 0; l < 32; ++l) {
      uint8_t byte = 0;
      for (int h = 0; h < 2; ++h) {
        const int g = 2 * j + h;
        const float step = d * static_cast<float>(sc[g]);
        const float v = x[32 * g + l] + dmin * static_cast<float>(m[g]);
        const int q = step > 0.0f ? round_clamp(v / step, 0, 15) : 0;
        byte = static_cast<uint8_t>(byte | (q << (4 * h)));
      }
      qs[32 * j + l] = byte;
    }
  }
}

// Per 16 values: scale s_f = max|x| / 32 (sign taken from the largest-magnitude value so it can
// use level -32); d maps the largest |s_f| to 127; q = round(x / (d sc)) + 32 in 0..63.
void encode_q6_k(const float* x, uint8_t* dst) {
  float s_f[16];
  float s_abs = 0.0f;
  for (int g = 0; g < 16; ++g) {
    float big = 0.0f;
    for (int l = 0; l < 16; ++l)
      if (std::fabs(x[16 * g + l]) > std::fabs(big)) big = x[16 * g + l];
    s_f[g] = -big / 32.0f;
    s_abs = std::max(s_abs, std::fabs(s_f[g]));
  }
  const float d = put_half(dst + 208, s_abs / 127.0f);
  int8_t sc[16];
  for (int g = 0; g < 16; ++g) {
    sc[g] = static_cast<int8_t>(d > 0.0f ? round_clamp(s_f[g] / d, -127, 127) : 0);
    dst[192 + g] = static_cast<uint8_t>(sc[g]);
  }
  uint8_t* ql = dst;
  uint8_t* qh = dst + 128;
  std::memset(dst, 0, 192);
  for (int half = 0; half < 2; ++half) {
    for (int k = 0; k < 4; ++k) {
      for (int l = 0; l < 32; ++l) {
        const int idx = 128 * half + 32 * k + l;
        const float step = d * static_cast<float>(sc[8 * half + 2 * k + l / 16]);
        const int q = step != 0.0f ? round_clamp(x[idx] / step, -32, 31) + 32 : 32;
        ql[64 * half + l + 32 * (k % 2)] |= static_cast<uint8_t>((q & 15) << (4 * (k / 2)));
        qh[32 * half + l] |= static_cast<uint8_t>((q >> 4) << (2 * k));
      }
    }
  }
}

}  // namespace r1vk::ggml
