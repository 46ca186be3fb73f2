#include "load_tokenizer.h"

#include <filesystem>

namespace r1vk::cli {

Result<text::Tokenizer> load_tokenizer(const std::string& path) {
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec)) return text::Tokenizer::from_directory(path);
  if (std::filesystem::is_regular_file(path, ec) && std::filesystem::path(path).extension() == ".json") {
    return text::Tokenizer::from_file(path);
  }
  if (!std::filesystem::exists(path, ec)) return make_error(ErrorCode::kNotFound, path + ": no such file or directory");
  return make_error(ErrorCode::kUnsupported, path + ": expected a checkpoint directory or a tokenizer.json file");
}

}  // namespace r1vk::cli
