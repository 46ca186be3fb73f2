// Typed, non-throwing access to JSON object fields: a missing or mistyped field becomes an Error
// naming its path ("manifest.tensors[3].rows: expected an unsigned integer").
#pragma once

#include <cstdint>
#include <string>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace r1vk::json_fields {

using Json = nlohmann::json;

// Parses text without exceptions; `what` names the document in the error.
Result<Json> parse(std::string_view text, const std::string& what);

Result<const Json*> member(const Json& obj, const std::string& key, const std::string& path);
Result<uint64_t> get_u64(const Json& obj, const std::string& key, const std::string& path);
Result<int64_t> get_i64(const Json& obj, const std::string& key, const std::string& path);
Result<double> get_f64(const Json& obj, const std::string& key, const std::string& path);
Result<bool> get_bool(const Json& obj, const std::string& key, const std::string& path);
Result<std::string> get_string(const Json& obj, const std::string& key, const std::string& path);
// The member, which must be an array / object.
Result<const Json*> get_array(const Json& obj, const std::string& key, const std::string& path);
Result<const Json*> get_object(const Json& obj, const std::string& key, const std::string& path);

}  // namespace r1vk::json_fields
