#include "import/dtype.h"

#include <array>
#include <utility>

namespace r1vk {
namespace {

struct DTypeInfo {
  DType dtype;
  const char* name;
  size_t size;
};

constexpr std::array<DTypeInfo, 15> kDTypes{{
    {DType::kF64, "F64", 8},     {DType::kF32, "F32", 4},   {DType::kF16, "F16", 2},
    {DType::kBF16, "BF16", 2},   {DType::kF8E4M3, "F8_E4M3", 1}, {DType::kF8E5M2, "F8_E5M2", 1},
    {DType::kI64, "I64", 8},     {DType::kI32, "I32", 4},   {DType::kI16, "I16", 2},
    {DType::kI8, "I8", 1},       {DType::kU64, "U64", 8},   {DType::kU32, "U32", 4},
    {DType::kU16, "U16", 2},     {DType::kU8, "U8", 1},     {DType::kBool, "BOOL", 1},
}};

const DTypeInfo& info(DType dtype) {
  for (const DTypeInfo& i : kDTypes) {
    if (i.dtype == dtype) return i;
  }
  return kDTypes[0];  // unreachable: every enumerator is in the table
}

}  // namespace

std::optional<DType> dtype_from_name(std::string_view name) {
  for (const DTypeInfo& i : kDTypes) {
    if (name == i.name) return i.dtype;
  }
  return std::nullopt;
}

const char* dtype_name(DType dtype) { return info(dtype).name; }
size_t dtype_size(DType dtype) { return info(dtype).size; }

}  // namespace r1vk
