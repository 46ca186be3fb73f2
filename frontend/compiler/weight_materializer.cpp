#include "compiler/weight_materializer.h"

#include <algorithm>
#include <utility>

namespace r1vk {

WeightFormat format_for(WeightRole role, const FormatChoice& choice) {
  switch (role) {
    case WeightRole::kNorm:
    case WeightRole::kBias:
    case WeightRole::kRouter:
    case WeightRole::kRouterBias:
      return WeightFormat::kF32;
    case WeightRole::kEmbedding:
    case WeightRole::kLmHead:
      return choice.bulk == WeightFormat::kF32 ? WeightFormat::kF32
                                               : (choice.bulk == WeightFormat::kF16 ? WeightFormat::kF16 : WeightFormat::kQ8);
    case WeightRole::kLinear:
      return choice.bulk;
  }
  return choice.bulk;
}

Result<std::vector<float>> gather_weight(const WeightSpec& s, const WeightFn& read) {
  switch (s.transform) {
    case WeightTransform::kNone: {
      R1VK_ASSIGN_OR_RETURN(auto w, read(s.sources.at(0), s.rows * s.cols));
      return w;
    }
    case WeightTransform::kConcatRows: {
      std::vector<float> out;
      out.reserve(static_cast<size_t>(s.rows * s.cols));
      for (size_t i = 0; i < s.sources.size(); ++i) {
        R1VK_ASSIGN_OR_RETURN(auto part, read(s.sources[i], s.source_rows.at(i) * s.cols));
        out.insert(out.end(), part.begin(), part.end());
      }
      if (static_cast<int64_t>(out.size()) != s.rows * s.cols) {
        return make_error(ErrorCode::kInternal, s.name + ": concatenated parts do not fill the tensor");
      }
      return out;
    }
    case WeightTransform::kMlaKAbsorb:
    case WeightTransform::kMlaVAbsorb: {
      const int64_t H = s.heads, dn = s.nope_dim, dv = s.value_dim;
      const int64_t c = s.transform == WeightTransform::kMlaKAbsorb ? s.rows / H : s.cols;
      R1VK_ASSIGN_OR_RETURN(auto w, read(s.sources.at(0), H * (dn + dv) * c));
      std::vector<float> out(static_cast<size_t>(s.rows * s.cols));
      for (int64_t h = 0; h < H; ++h) {
        const float* head = w.data() + h * (dn + dv) * c;  // rows [k_nope dn | v dv], each c wide
        if (s.transform == WeightTransform::kMlaKAbsorb) {
          // out[h*c + i][d] = W[h, d, i]: q_lat = (per head) out · q_nope
          for (int64_t d = 0; d < dn; ++d)
            for (int64_t i = 0; i < c; ++i) out[static_cast<size_t>((h * c + i) * dn + d)] = head[d * c + i];
        } else {
          // out[h*dv + r][i] = W[h, dn + r, i]
          for (int64_t r = 0; r < dv; ++r)
            for (int64_t i = 0; i < c; ++i) out[static_cast<size_t>((h * dv + r) * c + i)] = head[(dn + r) * c + i];
        }
      }
      return out;
    }
  }
  return make_error(ErrorCode::kInternal, s.name + ": unknown weight transform");
}

int64_t slice_row_unit(const WeightSpec& s) {
  switch (s.transform) {
    case WeightTransform::kMlaKAbsorb: return s.heads > 0 ? s.rows / s.heads : s.rows;
    case WeightTransform::kMlaVAbsorb: return s.value_dim > 0 ? s.value_dim : s.rows;
    default: return 1;
  }
}

Result<std::vector<float>> gather_weight_rows(const WeightSpec& s, int64_t row_begin, int64_t row_end,
                                              const WeightRowsFn& read_rows) {
  const int64_t unit = slice_row_unit(s);
  if (row_begin < 0 || row_begin > row_end || row_end > s.rows || row_begin % unit != 0 ||
      (row_end % unit != 0 && row_end != s.rows)) {
    return make_error(ErrorCode::kInternal, s.name + ": rows [" + std::to_string(row_begin) + ", " + std::to_string(row_end) +
                                                ") do not split the tensor in units of " + std::to_string(unit));
  }
  std::vector<float> out;
  out.reserve(static_cast<size_t>((row_end - row_begin) * s.cols));
  auto append = [&out](std::vector<float>&& part) { out.insert(out.end(), part.begin(), part.end()); };
  switch (s.transform) {
    case WeightTransform::kNone: {
      R1VK_ASSIGN_OR_RETURN(out, read_rows(s.sources.at(0), row_begin, row_end, s.cols));  // no copy
      break;
    }
    case WeightTransform::kConcatRows: {
      int64_t first = 0;  // the tensor row where source i starts
      for (size_t i = 0; i < s.sources.size(); ++i) {
        const int64_t n = s.source_rows.at(i);
        const int64_t b = std::max(row_begin, first), e = std::min(row_end, first + n);
        if (b < e) {
          R1VK_ASSIGN_OR_RETURN(auto part, read_rows(s.sources[i], b - first, e - first, s.cols));
          append(std::move(part));
        }
        first += n;
      }
      break;
    }
    case WeightTransform::kMlaKAbsorb:
    case WeightTransform::kMlaVAbsorb: {
      // The same index maps as gather_weight, one head at a time.
      const int64_t dn = s.nope_dim, dv = s.value_dim, per_head = dn + dv;
      const bool k = s.transform == WeightTransform::kMlaKAbsorb;
      const int64_t c = k ? unit : s.cols;
      for (int64_t h = row_begin / unit; h * unit < row_end; ++h) {
        if (k) {
          // out[h*c + i][d] = W[h, d, i]
          R1VK_ASSIGN_OR_RETURN(auto w, read_rows(s.sources.at(0), h * per_head, h * per_head + dn, c));
          const size_t base = out.size();
          out.resize(base + static_cast<size_t>(c * dn));
          for (int64_t d = 0; d < dn; ++d)
            for (int64_t i = 0; i < c; ++i) out[base + static_cast<size_t>(i * dn + d)] = w[static_cast<size_t>(d * c + i)];
        } else {
          // out[h*dv + r][i] = W[h, dn + r, i]
          R1VK_ASSIGN_OR_RETURN(auto w, read_rows(s.sources.at(0), h * per_head + dn, (h + 1) * per_head, c));
          append(std::move(w));
        }
      }
      break;
    }
  }
  if (static_cast<int64_t>(out.size()) != (row_end - row_begin) * s.cols) {
    return make_error(ErrorCode::kInternal, s.name + ": the parts read do not fill rows [" + std::to_string(row_begin) + ", " +
                                                std::to_string(row_end) + ")");
  }
  return out;
}

Result<PackedWeight> materialize_weight(const WeightSpec& spec, const WeightFn& read, const FormatChoice& choice) {
  auto w = gather_weight(spec, read);
  if (!w.ok()) return std::move(w).error().with_context(spec.name);
  auto packed = pack_weight(*w, spec.rows, spec.cols, format_for(spec.role, choice), choice.q4_group);
  if (!packed.ok()) return std::move(packed).error().with_context(spec.name);
  return packed;
}

}  // namespace r1vk
