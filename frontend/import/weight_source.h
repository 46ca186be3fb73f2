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

}  // namespace r1vk
