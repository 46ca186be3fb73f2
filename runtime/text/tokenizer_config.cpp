#include "text/tokenizer_config.h"

#include <nlohmann/json.hpp>

namespace r1vk::text {
namespace {

// bos_token / eos_token are written either as a string or as an AddedToken object.
Result<std::optional<std::string>> token_string(const nlohmann::json& cfg, const char* name) {
  if (!cfg.contains(name) || cfg[name].is_null()) return std::optional<std::string>();
  const auto& v = cfg[name];
  if (v.is_string()) return std::optional<std::string>(v.get<std::string>());
  if (v.is_object() && v.contains("content") && v["content"].is_string()) {
    return std::optional<std::string>(v["content"].get<std::string>());
  }
  return make_error(ErrorCode::kCorruptData,
                    std::string("tokenizer_config.json: \"") + name + "\" is neither a string nor {\"content\": ...}");
}

bool flag(const nlohmann::json& cfg, const char* name, bool fallback) {
  return cfg.contains(name) && cfg[name].is_boolean() ? cfg[name].get<bool>() : fallback;
}

std::optional<bool> optional_flag(const nlohmann::json& cfg, const char* name) {
  if (cfg.contains(name) && cfg[name].is_boolean()) return cfg[name].get<bool>();
  return std::nullopt;
}

}  // namespace

Result<TokenizerConfig> parse_tokenizer_config(std::string_view json_text) {
  TokenizerConfig config;
  if (json_text.empty()) return config;
  nlohmann::json cfg = nlohmann::json::parse(json_text, nullptr, /*allow_exceptions=*/false);
  if (cfg.is_discarded() || !cfg.is_object()) {
    return make_error(ErrorCode::kCorruptData, "tokenizer_config.json: not a JSON object");
  }
  R1VK_ASSIGN_OR_RETURN(config.bos_token, token_string(cfg, "bos_token"));
  R1VK_ASSIGN_OR_RETURN(config.eos_token, token_string(cfg, "eos_token"));
  config.add_bos_token = optional_flag(cfg, "add_bos_token");
  config.add_eos_token = optional_flag(cfg, "add_eos_token");
  config.clean_up_tokenization_spaces = flag(cfg, "clean_up_tokenization_spaces", false);
  if (cfg.contains("chat_template") && cfg["chat_template"].is_string()) {
    config.chat_template = cfg["chat_template"].get<std::string>();
  }
  return config;
}

}  // namespace r1vk::text
