#include "kernels/linear_bound.h"

#include <algorithm>

namespace r1vk::kernels {
namespace {

// Bytes of one row of data, and of scales per row (q8/q4) or per 128-row block (fp8).
struct RowBytes {
  uint64_t data = 0;
  uint64_t scales = 0;
  uint32_t scale_rows = 1;  // rows sharing one scale row (fp8: 128)
};

std::optional<RowBytes> row_bytes(WeightFormat f, uint32_t cols, uint32_t group) {
  const uint64_t padded = group > 0 ? (uint64_t{cols} + group - 1) / group * group : cols;
  switch (f) {
    case WeightFormat::kF32: return RowBytes{4ull * cols, 0, 1};
    case WeightFormat::kF16: return RowBytes{2ull * cols, 0, 1};
    case WeightFormat::kQ8: return RowBytes{padded, padded / group * 2, 1};
    case WeightFormat::kQ4: return RowBytes{padded / 2, padded / group * 2, 1};
    case WeightFormat::kFp8: return RowBytes{cols, (uint64_t{cols} + kFp8Block - 1) / kFp8Block * 4, kFp8Block};
    default: return std::nullopt;
  }
}

}  // namespace

std::optional<BoundLinearPlan> plan_bound_linear(const BoundLinearInput& in) {
  if (in.rows == 0 || in.heads == 0 || in.cols == 0 || in.max_range == 0) return std::nullopt;
  if (in.data.buffer == VK_NULL_HANDLE) return std::nullopt;
  const bool q = in.format == WeightFormat::kQ8 || in.format == WeightFormat::kQ4;
  if (q && in.group == 0) return std::nullopt;
  const auto rb = row_bytes(in.format, in.cols, q ? in.group : 0);
  if (!rb) return std::nullopt;
  const bool has_scales = rb->scales > 0;
  if (has_scales && in.scales.buffer == VK_NULL_HANDLE) return std::nullopt;
  const uint64_t align = std::max<uint64_t>(in.offset_alignment, 4);

  BoundLinearPlan plan;

  const uint64_t all_rows = uint64_t{in.rows} * in.heads;
  auto scale_bytes = [&](uint64_t r0, uint64_t n) {  // scale bytes of rows [r0, r0 + n)
    const uint64_t b0 = r0 / rb->scale_rows, b1 = (r0 + n + rb->scale_rows - 1) / rb->scale_rows;
    return std::pair<uint64_t, uint64_t>{b0 * rb->scales, (b1 - b0) * rb->scales};
  };
  uint64_t slice_rows = all_rows;
  if (rb->data * all_rows > in.max_range || scale_bytes(0, all_rows).second > in.max_range) {
    if (in.heads != 1) return std::nullopt;  // per-head rows are indexed across the whole weight
    // Whole 128-row blocks (fp8 scale blocks) that fit one binding.
    slice_rows = std::min(in.max_range / rb->data, has_scales ? in.max_range / rb->scales * rb->scale_rows : all_rows);
    slice_rows = slice_rows / kFp8Block * kFp8Block;
    if (slice_rows == 0) return std::nullopt;
  }
  for (uint64_t r0 = 0; r0 < all_rows; r0 += slice_rows) {
    const uint64_t n = std::min(slice_rows, all_rows - r0);
    const uint64_t d0 = in.data.offset + r0 * rb->data, dn = n * rb->data;
    if (d0 % align != 0 || r0 * rb->data + dn > in.data.size) return std::nullopt;
    BoundSlice s;
    s.row0 = static_cast<uint32_t>(r0);
    s.rows = static_cast<uint32_t>(n);
    // Rounded up to 16 bytes where the buffer allows: a row's last weights are read as whole
    // 32-bit words (fp8 / q4 tails), as the device-address kernel reads them.
    s.data = {in.data.buffer, d0, std::min((dn + 15) / 16 * 16, in.data.size - r0 * rb->data)};
    if (has_scales) {
      const auto [so, sn] = scale_bytes(r0, n);
      if ((in.scales.offset + so) % align != 0 || so + sn > in.scales.size) return std::nullopt;
      s.scales = {in.scales.buffer, in.scales.offset + so, std::min((sn + 15) / 16 * 16, in.scales.size - so)};
    } else {
      s.scales = s.data;  // bound but never read (the layout declares the binding)
    }
    plan.slices.push_back(s);
  }
  return plan;
}

}  // namespace r1vk::kernels
