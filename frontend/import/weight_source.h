// How compiler passes and the CPU reference read checkpoint tensors: by name, dequantised to
// f32, with the element count the caller expects (a mismatch is an error naming the tensor).
#pragma once

#include <cstdint>
#include <functional>
#include <string>
#include <vector>

#include "base/status.h"

namespace r1vk {

using WeightFn = std::function<Result<std::vector<float>>(const std::string& name, int64_t numel)>;

// Rows [row_begin, row_end) of a checkpoint matrix whose rows are `cols` wide, dequantised to
// f32: (row_end - row_begin) * cols values. A source that is not such a matrix is an error
// naming the tensor. What lets the compiler stream a large tensor in slices.
using WeightRowsFn = std::function<Result<std::vector<float>>(const std::string& name, int64_t row_begin, int64_t row_end,
                                                              int64_t cols)>;

}  // namespace r1vk
