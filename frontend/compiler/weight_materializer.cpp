#include "compiler/weight_materializer.h"

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

Result<PackedWeight> materialize_weight(const WeightSpec& spec, const WeightFn& read, const FormatChoice& choice) {
  auto w = gather_weight(spec, read);
  if (!w.ok()) return std::move(w).error().with_context(spec.name);
  auto packed = pack_weight(*w, spec.rows, spec.cols, format_for(spec.role, choice), choice.q4_group);
  if (!packed.ok()) return std::move(packed).error().with_context(spec.name);
  return packed;
}

}  // namespace r1vk
