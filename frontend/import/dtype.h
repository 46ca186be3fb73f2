// Element types a safetensors file may declare (the names are the format's own strings).
#pragma once

#include <cstddef>
#include <optional>
#include <string_view>

namespace r1vk {

enum class DType { kF64, kF32, kF16, kBF16, kF8E4M3, kF8E5M2, kI64, kI32, kI16, kI8, kU64, kU32, kU16, kU8, kBool };

std::optional<DType> dtype_from_name(std::string_view name);
const char* dtype_name(DType dtype);
size_t dtype_size(DType dtype);  // bytes per element

}  // namespace r1vk
