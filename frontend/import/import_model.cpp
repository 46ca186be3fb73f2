#include "import/import_model.h"

#include <filesystem>

#include "import/config_parser.h"
#include "import/tensor_inventory.h"

namespace r1vk {

Result<ImportedModel> import_model(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) return make_error(ErrorCode::kNotFound, dir + ": not a directory");
  R1VK_ASSIGN_OR_RETURN(ModelConfig config, load_model_config((std::filesystem::path(dir) / "config.json").string()));
  R1VK_ASSIGN_OR_RETURN(Checkpoint checkpoint, Checkpoint::open(dir));
  R1VK_TRY(validate_checkpoint(checkpoint, config));
  checkpoint.set_fp8_block(config.fp8.block_n, config.fp8.block_k);
  return ImportedModel{std::move(config), std::move(checkpoint)};
}

}  // namespace r1vk
