#include "base/json_fields.h"

#include "base/json_util.h"

namespace r1vk::json_fields {
namespace {

Error type_error(const std::string& path, const std::string& key, const char* expected) {
  return make_error(ErrorCode::kCorruptData, path + "." + key + ": expected " + expected);
}

}  // namespace

Result<Json> parse(std::string_view text, const std::string& what) { return parse_json(text, what); }

Result<const Json*> member(const Json& obj, const std::string& key, const std::string& path) {
  if (!obj.is_object()) return make_error(ErrorCode::kCorruptData, path + ": expected an object");
  auto it = obj.find(key);
  if (it == obj.end()) return make_error(ErrorCode::kCorruptData, path + ": missing field '" + key + "'");
  return &*it;
}

Result<uint64_t> get_u64(const Json& obj, const std::string& key, const std::string& path) {
  R1VK_ASSIGN_OR_RETURN(const Json* v, member(obj, key, path));
  if (!v->is_number_unsigned()) return type_error(path, key, "an unsigned integer");
  return v->get<uint64_t>();
}

Result<int64_t> get_i64(const Json& obj, const std::string& key, const std::string& path) {
  R1VK_ASSIGN_OR_RETURN(const Json* v, member(obj, key, path));
  if (v->is_number_unsigned()) {
    const uint64_t u = v->get<uint64_t>();
    if (u > static_cast<uint64_t>(INT64_MAX)) return type_error(path, key, "an integer below 2^63");
    return static_cast<int64_t>(u);
  }
  if (!v->is_number_integer()) return type_error(path, key, "an integer");
  return v->get<int64_t>();
}

Result<double> get_f64(const Json& obj, const std::string& key, const std::string& path) {
  R1VK_ASSIGN_OR_RETURN(const Json* v, member(obj, key, path));
  if (!v->is_number()) return type_error(path, key, "a number");
  return v->get<double>();
}

Result<bool> get_bool(const Json& obj, const std::string& key, const std::string& path) {
  R1VK_ASSIGN_OR_RETURN(const Json* v, member(obj, key, path));
  if (!v->is_boolean()) return type_error(path, key, "true or false");
  return v->get<bool>();
}

Result<std::string> get_string(const Json& obj, const std::string& key, const std::string& path) {
  R1VK_ASSIGN_OR_RETURN(const Json* v, member(obj, key, path));
  if (!v->is_string()) return type_error(path, key, "a string");
  return v->get<std::string>();
}

Result<const Json*> get_array(const Json& obj, const std::string& key, const std::string& path) {
  R1VK_ASSIGN_OR_RETURN(const Json* v, member(obj, key, path));
  if (!v->is_array()) return type_error(path, key, "an array");
  return v;
}

Result<const Json*> get_object(const Json& obj, const std::string& key, const std::string& path) {
  R1VK_ASSIGN_OR_RETURN(const Json* v, member(obj, key, path));
  if (!v->is_object()) return type_error(path, key, "an object");
  return v;
}

}  // namespace r1vk::json_fields
