// Turns one WeightSpec into packed plan bytes: reads its checkpoint sources, applies the
// transform (row concatenation, MLA absorption split), and packs it in the chosen format.
#pragma once

#include "base/status.h"
#include "graph/weight_spec.h"
#include "import/weight_source.h"
#include "plan/weight_format.h"

namespace r1vk {

struct FormatChoice {
  WeightFormat bulk = WeightFormat::kF16;  // what --weights asked for (auto: q8 bulk)
  int64_t q4_group = 32;
};

// The storage format a tensor of this role gets: norms, biases and the router stay f32;
// embeddings and the head are at least q8 (never q4/fp8); everything else is `bulk`.
WeightFormat format_for(WeightRole role, const FormatChoice& choice);

// The f32 matrix [spec.rows, spec.cols] the spec stands for.
Result<std::vector<float>> gather_weight(const WeightSpec& spec, const WeightFn& read);

// Rows [row_begin, row_end) of that matrix, read through `read_rows` so only the source rows
// they come from are converted. kMlaKAbsorb needs the range on multiples of rows / heads and
// kMlaVAbsorb on multiples of value_dim (whole heads): slice_row_unit() gives the unit.
Result<std::vector<float>> gather_weight_rows(const WeightSpec& spec, int64_t row_begin, int64_t row_end,
                                              const WeightRowsFn& read_rows);
// The granularity of gather_weight_rows for this spec: 1 row, or one head of an absorbed matrix.
int64_t slice_row_unit(const WeightSpec& spec);

Result<PackedWeight> materialize_weight(const WeightSpec& spec, const WeightFn& read, const FormatChoice& choice);

}  // namespace r1vk
