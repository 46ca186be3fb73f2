#include "load_tokenizer.h"

#include <filesystem>

#include "plan/loaded_plan.h"

namespace r1vk::cli {

Result<text::Tokenizer> load_tokenizer(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return text::Tokenizer::from_directory(path);
  if (std::filesystem::is_regular_file(path, ec) && std::filesystem::path(path).extension() == ".json") {
    return text::Tokenizer::from_file(path);
  }
  if (!std::filesystem::exists(path, ec)) return make_error(ErrorCode::kNotFound, path + ": no such file or directory");
  // Anything else must be a plan, which embeds its checkpoint's tokenizer files.
  R1VK_ASSIGN_OR_RETURN(plan::LoadedPlan plan, plan::LoadedPlan::open(path));
  if (!plan.manifest().has_tokenizer()) {
    return make_error(ErrorCode::kNotFound, path + ": the plan was compiled from a checkpoint without tokenizer.json");
  }
  return text::Tokenizer::from_json(plan.manifest().tokenizer_json, plan.manifest().tokenizer_config_json);
}

}  // namespace r1vk::cli
