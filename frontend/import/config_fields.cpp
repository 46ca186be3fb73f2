#include "import/config_fields.h"

#include <sstream>

namespace r1vk {
namespace {

std::string range_text(double lo, double hi) {
  std::ostringstream s;
  s << "[" << lo << ", " << hi << "]";
  return s.str();
}

}  // namespace

bool ConfigFields::has(const char* key) const { return object_.contains(key) && !object_[key].is_null(); }

Error ConfigFields::error(const char* key, const std::string& message, ErrorCode code) const {
  return make_error(code, "field '" + name(key) + "': " + message);
}

Result<int64_t> ConfigFields::check_int(const char* key, const Json& value, int64_t lo, int64_t hi) const {
  const auto v = json_to_int(value);
  if (!v) return error(key, std::string("expected an integer, got ") + json_type_name(value) + " " + value.dump());
  if (*v < lo || *v > hi) {
    return error(key, std::to_string(*v) + " is out of range [" + std::to_string(lo) + ", " + std::to_string(hi) + "]",
                 ErrorCode::kOutOfRange);
  }
  return *v;
}

Result<double> ConfigFields::check_number(const char* key, const Json& value, double lo, double hi) const {
  if (!value.is_number()) return error(key, std::string("expected a number, got ") + json_type_name(value));
  const double v = value.get<double>();
  if (!(v >= lo && v <= hi)) return error(key, value.dump() + " is out of range " + range_text(lo, hi), ErrorCode::kOutOfRange);
  return v;
}

Result<int64_t> ConfigFields::integer(const char* key, int64_t lo, int64_t hi) const {
  if (!has(key)) return error(key, "missing");
  return check_int(key, object_[key], lo, hi);
}

Result<int64_t> ConfigFields::integer_or(const char* key, int64_t fallback, int64_t lo, int64_t hi) const {
  if (!has(key)) return fallback;
  return check_int(key, object_[key], lo, hi);
}

Result<double> ConfigFields::number(const char* key, double lo, double hi) const {
  if (!has(key)) return error(key, "missing");
  return check_number(key, object_[key], lo, hi);
}

Result<double> ConfigFields::number_or(const char* key, double fallback, double lo, double hi) const {
  if (!has(key)) return fallback;
  return check_number(key, object_[key], lo, hi);
}

Result<bool> ConfigFields::boolean_or(const char* key, bool fallback) const {
  if (!has(key)) return fallback;
  const Json& v = object_[key];
  if (!v.is_boolean()) return error(key, std::string("expected a boolean, got ") + json_type_name(v));
  return v.get<bool>();
}

Result<std::string> ConfigFields::string_or(const char* key, const std::string& fallback) const {
  if (!has(key)) return fallback;
  const Json& v = object_[key];
  if (!v.is_string()) return error(key, std::string("expected a string, got ") + json_type_name(v));
  return v.get<std::string>();
}

}  // namespace r1vk
