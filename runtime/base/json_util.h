// JSON parsing without exceptions for untrusted files (safetensors headers, config.json, index):
// rejects invalid UTF-8 and duplicate object keys, which nlohmann would otherwise accept silently.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>

#include <nlohmann/json.hpp>

#include "base/status.h"

namespace r1vk {

using Json = nlohmann::json;

bool is_valid_utf8(std::string_view text);

// `what` names the source in messages ("config.json", "x.safetensors header").
Result<Json> parse_json(std::string_view text, const std::string& what);

// Reads and parses a whole file, refusing files above max_bytes.
Result<Json> read_json_file(const std::string& path, uint64_t max_bytes);

// "integer", "string", "null", ... for messages.
const char* json_type_name(const Json& value);

// The value as int64 when it is a JSON integer that fits; floats are never integers here.
std::optional<int64_t> json_to_int(const Json& value);

}  // namespace r1vk
