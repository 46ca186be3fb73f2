#include "import/gguf_metadata.h"

#include <charconv>
#include <cmath>
#include <cstdlib>
#include <cstring>
#include <limits>

namespace r1vk {
namespace {

template <typename T>
T load(const uint8_t* p) {
  T v;
  std::memcpy(&v, p, sizeof(T));
  return v;
}

}  // namespace

const char* gguf_value_type_name(GgufValueType type) {
  switch (type) {
    case GgufValueType::kU8: return "u8";
    case GgufValueType::kI8: return "i8";
    case GgufValueType::kU16: return "u16";
    case GgufValueType::kI16: return "i16";
    case GgufValueType::kU32: return "u32";
    case GgufValueType::kI32: return "i32";
    case GgufValueType::kF32: return "f32";
    case GgufValueType::kBool: return "bool";
    case GgufValueType::kString: return "string";
    case GgufValueType::kArray: return "array";
    case GgufValueType::kU64: return "u64";
    case GgufValueType::kI64: return "i64";
    case GgufValueType::kF64: return "f64";
  }
  return "unknown";
}

size_t gguf_value_type_size(GgufValueType type) {
  switch (type) {
    case GgufValueType::kU8:
    case GgufValueType::kI8:
    case GgufValueType::kBool: return 1;
    case GgufValueType::kU16:
    case GgufValueType::kI16: return 2;
    case GgufValueType::kU32:
    case GgufValueType::kI32:
    case GgufValueType::kF32: return 4;
    case GgufValueType::kU64:
    case GgufValueType::kI64:
    case GgufValueType::kF64: return 8;
    case GgufValueType::kString:
    case GgufValueType::kArray: return 0;
  }
  return 0;
}

bool GgufValue::is_integer() const {
  switch (type) {
    case GgufValueType::kU8:
    case GgufValueType::kI8:
    case GgufValueType::kU16:
    case GgufValueType::kI16:
    case GgufValueType::kU32:
    case GgufValueType::kI32:
    case GgufValueType::kU64:
    case GgufValueType::kI64: return true;
    default: return false;
  }
}

std::string GgufValue::type_name() const {
  if (type != GgufValueType::kArray) return gguf_value_type_name(type);
  return std::string("array of ") + gguf_value_type_name(element_type);
}

Error gguf_key_error(std::string_view key, const std::string& message, ErrorCode code) {
  return make_error(code, "GGUF key '" + std::string(key) + "': " + message);
}

bool GgufMetadata::add(std::string key, GgufValue value) { return values_.emplace(std::move(key), std::move(value)).second; }

const GgufValue* GgufMetadata::find(std::string_view key) const {
  const auto it = values_.find(key);
  return it == values_.end() ? nullptr : &it->second;
}

Result<const GgufValue*> GgufMetadata::require(std::string_view key) const {
  const GgufValue* v = find(key);
  if (!v) return gguf_key_error(key, "missing");
  return v;
}

Result<int64_t> GgufMetadata::integer(std::string_view key, int64_t lo, int64_t hi) const {
  R1VK_ASSIGN_OR_RETURN(const GgufValue* v, require(key));
  if (!v->is_integer()) return gguf_key_error(key, "expected an integer, got " + v->type_name());
  const bool is_unsigned = v->type == GgufValueType::kU8 || v->type == GgufValueType::kU16 ||
                           v->type == GgufValueType::kU32 || v->type == GgufValueType::kU64;
  if (is_unsigned && v->u > static_cast<uint64_t>(hi)) {
    return gguf_key_error(key, std::to_string(v->u) + " exceeds " + std::to_string(hi));
  }
  const int64_t x = is_unsigned ? static_cast<int64_t>(v->u) : v->i;
  if (x < lo || x > hi) {
    return gguf_key_error(key, std::to_string(x) + " is outside [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return x;
}

Result<int64_t> GgufMetadata::integer_or(std::string_view key, int64_t fallback, int64_t lo, int64_t hi) const {
  if (!has(key)) return fallback;
  return integer(key, lo, hi);
}

Result<double> GgufMetadata::number(std::string_view key, double lo, double hi) const {
  R1VK_ASSIGN_OR_RETURN(const GgufValue* v, require(key));
  double x = 0;
  if (v->type == GgufValueType::kF32) {
    // Converters write Python floats from config.json as f32. The shortest decimal that rounds to
    // the f32 recovers the value they started from (1e-06, not 9.99999997e-07).
    char buf[64];
    const auto r = std::to_chars(buf, buf + sizeof(buf) - 1, static_cast<float>(v->f));
    *r.ptr = '\0';
    x = std::strtod(buf, nullptr);
  } else if (v->type == GgufValueType::kF64) {
    x = v->f;
  } else if (v->is_integer()) {
    R1VK_ASSIGN_OR_RETURN(int64_t n, integer(key, std::numeric_limits<int64_t>::min(), std::numeric_limits<int64_t>::max()));
    x = static_cast<double>(n);
  } else {
    return gguf_key_error(key, "expected a number, got " + v->type_name());
  }
  if (!std::isfinite(x) || x < lo || x > hi) {
    return gguf_key_error(key, std::to_string(x) + " is outside [" + std::to_string(lo) + ", " + std::to_string(hi) + "]");
  }
  return x;
}

Result<double> GgufMetadata::number_or(std::string_view key, double fallback, double lo, double hi) const {
  if (!has(key)) return fallback;
  return number(key, lo, hi);
}

Result<bool> GgufMetadata::boolean_or(std::string_view key, bool fallback) const {
  const GgufValue* v = find(key);
  if (!v) return fallback;
  if (v->type != GgufValueType::kBool) return gguf_key_error(key, "expected a bool, got " + v->type_name());
  return v->u != 0;
}

Result<std::string> GgufMetadata::string(std::string_view key) const {
  R1VK_ASSIGN_OR_RETURN(const GgufValue* v, require(key));
  if (v->type != GgufValueType::kString) return gguf_key_error(key, "expected a string, got " + v->type_name());
  return v->s;
}

Result<std::string> GgufMetadata::string_or(std::string_view key, const std::string& fallback) const {
  if (!has(key)) return fallback;
  return string(key);
}

Result<const std::vector<std::string>*> GgufMetadata::string_array(std::string_view key) const {
  R1VK_ASSIGN_OR_RETURN(const GgufValue* v, require(key));
  if (v->type != GgufValueType::kArray || v->element_type != GgufValueType::kString) {
    return gguf_key_error(key, "expected an array of string, got " + v->type_name());
  }
  return &v->strings;
}

Result<std::vector<int64_t>> GgufMetadata::integer_array(std::string_view key) const {
  R1VK_ASSIGN_OR_RETURN(const GgufValue* v, require(key));
  GgufValue probe;
  probe.type = v->element_type;
  if (v->type != GgufValueType::kArray || !probe.is_integer()) {
    return gguf_key_error(key, "expected an array of integers, got " + v->type_name());
  }
  const size_t size = gguf_value_type_size(v->element_type);
  std::vector<int64_t> out(static_cast<size_t>(v->count));
  for (size_t k = 0; k < out.size(); ++k) {
    const uint8_t* p = v->raw.data() + k * size;
    switch (v->element_type) {
      case GgufValueType::kU8: out[k] = load<uint8_t>(p); break;
      case GgufValueType::kI8: out[k] = load<int8_t>(p); break;
      case GgufValueType::kU16: out[k] = load<uint16_t>(p); break;
      case GgufValueType::kI16: out[k] = load<int16_t>(p); break;
      case GgufValueType::kU32: out[k] = load<uint32_t>(p); break;
      case GgufValueType::kI32: out[k] = load<int32_t>(p); break;
      case GgufValueType::kI64: out[k] = load<int64_t>(p); break;
      case GgufValueType::kU64: {
        const uint64_t u = load<uint64_t>(p);
        if (u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max())) {
          return gguf_key_error(key, "element " + std::to_string(k) + " (" + std::to_string(u) + ") is too large");
        }
        out[k] = static_cast<int64_t>(u);
        break;
      }
      default: break;
    }
  }
  return out;
}

}  // namespace r1vk
