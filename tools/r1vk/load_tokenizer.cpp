#include "load_tokenizer.h"

#include <filesystem>

#include "import/gguf_split.h"
#include "import/gguf_tokenizer.h"
#include "import/gguf_import.h"
#include "plan/loaded_plan.h"

namespace r1vk::cli {

Result<text::Tokenizer> load_tokenizer(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return text::Tokenizer::from_directory(path);
  if (std::filesystem::is_regular_file(path, ec) && std::filesystem::path(path).extension() == ".json") {
    return text::Tokenizer::from_file(path);
  }
  if (!std::filesystem::exists(path, ec)) return make_error(ErrorCode::kNotFound, path + ": no such file or directory");
  if (is_gguf_file(path)) {
    R1VK_ASSIGN_OR_RETURN(GgufModelFiles files, GgufModelFiles::open(path));
    auto tok = gguf_tokenizer_json(files.metadata());
    if (!tok.ok()) return std::move(tok).error().with_context(path);
    if (tok->tokenizer_json.empty()) return make_error(ErrorCode::kNotFound, path + ": the GGUF file has no tokenizer");
    return text::Tokenizer::from_json(tok->tokenizer_json, tok->tokenizer_config_json);
  }
  // Anything else must be a plan, which embeds its checkpoint's tokenizer files.
  R1VK_ASSIGN_OR_RETURN(plan::LoadedPlan plan, plan::LoadedPlan::open(path));
  if (!plan.manifest().has_tokenizer()) {
    return make_error(ErrorCode::kNotFound, path + ": the plan was compiled from a checkpoint without tokenizer.json");
  }
  return text::Tokenizer::from_json(plan.manifest().tokenizer_json, plan.manifest().tokenizer_config_json);
}

}  // namespace r1vk::cli
