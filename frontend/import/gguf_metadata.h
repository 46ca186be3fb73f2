// GGUF metadata: the typed key/value pairs of a GGUF header (ggml docs/gguf.md,
// `gguf_metadata_value_type`), and range-checked access to them. Every error names the key.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"

namespace r1vk {

enum class GgufValueType : uint32_t {
  kU8 = 0,
  kI8 = 1,
  kU16 = 2,
  kI16 = 3,
  kU32 = 4,
  kI32 = 5,
  kF32 = 6,
  kBool = 7,
  kString = 8,
  kArray = 9,
  kU64 = 10,
  kI64 = 11,
  kF64 = 12,
};

const char* gguf_value_type_name(GgufValueType type);  // "u32", "string", "array"
// Bytes one element of a fixed-size type takes; 0 for string and array.
size_t gguf_value_type_size(GgufValueType type);

struct GgufValue {
  GgufValueType type = GgufValueType::kU8;
  uint64_t u = 0;     // u8..u64 and bool (0/1)
  int64_t i = 0;      // i8..i64
  double f = 0.0;     // f32, f64
  std::string s;      // string
  // array:
  GgufValueType element_type = GgufValueType::kU8;
  uint64_t count = 0;
  std::span<const uint8_t> raw;      // fixed-size elements, little-endian, inside the file mapping
  std::vector<std::string> strings;  // element_type == string
  std::vector<GgufValue> arrays;     // element_type == array (nested)

  bool is_integer() const;  // u8..i64 (not bool)
  bool is_float() const { return type == GgufValueType::kF32 || type == GgufValueType::kF64; }
  std::string type_name() const;  // "u32", "array of string"
};

class GgufMetadata {
 public:
  // False when the key is already present.
  bool add(std::string key, GgufValue value);

  const GgufValue* find(std::string_view key) const;
  bool has(std::string_view key) const { return find(key) != nullptr; }
  size_t size() const { return values_.size(); }
  const std::map<std::string, GgufValue, std::less<>>& values() const { return values_; }

  // Integers of any width and signedness; out of [lo, hi] is kCorruptData naming the key.
  Result<int64_t> integer(std::string_view key, int64_t lo, int64_t hi) const;
  Result<int64_t> integer_or(std::string_view key, int64_t fallback, int64_t lo, int64_t hi) const;
  // f32/f64 (integers accepted too).
  Result<double> number(std::string_view key, double lo, double hi) const;
  Result<double> number_or(std::string_view key, double fallback, double lo, double hi) const;
  Result<bool> boolean_or(std::string_view key, bool fallback) const;
  Result<std::string> string(std::string_view key) const;
  Result<std::string> string_or(std::string_view key, const std::string& fallback) const;
  // An array of strings (the pointer stays valid while this object lives).
  Result<const std::vector<std::string>*> string_array(std::string_view key) const;
  // An array of integers of any width, converted to int64 (u64 above INT64_MAX is an error).
  Result<std::vector<int64_t>> integer_array(std::string_view key) const;

 private:
  Result<const GgufValue*> require(std::string_view key) const;
  std::map<std::string, GgufValue, std::less<>> values_;
};

Error gguf_key_error(std::string_view key, const std::string& message, ErrorCode code = ErrorCode::kCorruptData);

}  // namespace r1vk
