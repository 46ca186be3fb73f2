// Typed, range-checked access to the fields of a JSON object (config.json). Every error names the
// field, with `prefix` for nested objects ("rope_scaling.factor"); absent and null count as unset.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include "base/status.h"
#include "base/json_util.h"

namespace r1vk {

class ConfigFields {
 public:
  ConfigFields(const Json& object, std::string prefix) : object_(object), prefix_(std::move(prefix)) {}

  bool has(const char* key) const;  // present and not null
  const Json& raw(const char* key) const { return object_[key]; }
  std::string name(const char* key) const { return prefix_ + key; }
  Error error(const char* key, const std::string& message, ErrorCode code = ErrorCode::kCorruptData) const;

  Result<int64_t> integer(const char* key, int64_t lo, int64_t hi) const;  // required
  Result<int64_t> integer_or(const char* key, int64_t fallback, int64_t lo, int64_t hi) const;
  Result<double> number(const char* key, double lo, double hi) const;  // integers accepted too
  Result<double> number_or(const char* key, double fallback, double lo, double hi) const;
  Result<bool> boolean_or(const char* key, bool fallback) const;
  Result<std::string> string_or(const char* key, const std::string& fallback) const;

 private:
  Result<int64_t> check_int(const char* key, const Json& value, int64_t lo, int64_t hi) const;
  Result<double> check_number(const char* key, const Json& value, double lo, double hi) const;

  const Json& object_;
  std::string prefix_;
};

}  // namespace r1vk
