#include "import/generation_config.h"

#include <filesystem>
#include <optional>
#include <set>

namespace r1vk {
namespace {

constexpr uint64_t kMaxGenerationConfigBytes = 1ull << 20;

// The ids a token-id field names: an integer, a list of integers, or nothing (absent / null).
// nullopt when the value is none of these.
std::optional<std::set<int64_t>> token_ids(const Json& object, const char* key) {
  std::set<int64_t> ids;
  if (!object.contains(key) || object[key].is_null()) return ids;
  const Json& value = object[key];
  const Json list = value.is_array() ? value : Json::array({value});
  for (const Json& id : list) {
    const auto v = json_to_int(id);
    if (!v) return std::nullopt;
    ids.insert(*v);
  }
  return ids;
}

std::string ids_text(const std::set<int64_t>& ids) {
  if (ids.empty()) return "none";
  if (ids.size() == 1) return std::to_string(*ids.begin());
  std::string s;
  for (int64_t id : ids) s += (s.empty() ? "[" : ", ") + std::to_string(id);
  return s + "]";
}

}  // namespace

std::vector<std::string> check_generation_config(const std::string& dir, const Json& config_json) {
  const std::string path = (std::filesystem::path(dir) / kGenerationConfigFileName).string();
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return {};
  std::vector<std::string> warnings;
  auto json = read_json_file(path, kMaxGenerationConfigBytes);
  if (!json.ok()) return {json.error().message() + "; the file is ignored (r1vk does not need it)"};
  if (!json->is_object()) return {path + ": not a JSON object; the file is ignored (r1vk does not need it)"};
  for (const char* key : {"bos_token_id", "eos_token_id"}) {
    const auto ours = token_ids(*json, key);
    if (!ours) {
      warnings.push_back(path + ": field '" + key + "' is not a token id or a list of them; ignored");
      continue;
    }
    const auto theirs = token_ids(config_json, key);
    if (ours->empty() || !theirs || *ours == *theirs) continue;  // config.json's own problems are reported by its parser
    warnings.push_back(path + ": " + key + " " + ids_text(*ours) + " disagrees with config.json's " + ids_text(*theirs) +
                       "; r1vk uses neither (its special tokens come from the tokenizer files)");
  }
  return warnings;
}

}  // namespace r1vk
