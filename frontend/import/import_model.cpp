#include "import/import_model.h"

#include <filesystem>

#include "base/json_util.h"
#include "import/config_parser.h"
#include "import/generation_config.h"
#include "import/mtp_layers.h"
#include "import/tensor_inventory.h"

namespace r1vk {
Result<ImportedModel> import_model(const std::string& dir) {
  std::error_code ec;
  if (!std::filesystem::is_directory(dir, ec)) {
    return make_error(ErrorCode::kNotFound, dir + (std::filesystem::exists(dir, ec) ? ": not a directory" : ": does not exist"));
  }
  const std::string config_path = (std::filesystem::path(dir) / "config.json").string();
  R1VK_ASSIGN_OR_RETURN(Json config_json, read_json_file(config_path, kMaxConfigJsonBytes));
  std::vector<std::string> warnings;
  auto parsed = parse_model_config(config_json, &warnings);
  if (!parsed.ok()) return std::move(parsed).error().with_context(config_path);
  ModelConfig config = std::move(parsed).value();
  for (std::string& w : check_generation_config(dir, config_json)) warnings.push_back(std::move(w));
  R1VK_ASSIGN_OR_RETURN(Checkpoint checkpoint, Checkpoint::open(dir));
  const MtpLayers mtp = resolve_mtp_layers(checkpoint, config);
  if (!mtp.warning.empty()) warnings.push_back(mtp.warning);
  R1VK_TRY(validate_checkpoint(checkpoint, config, mtp.ignored));
  checkpoint.set_fp8_block(config.fp8.block_n, config.fp8.block_k);
  return ImportedModel{std::move(config), std::move(checkpoint), mtp.declared, std::move(warnings)};
}

}  // namespace r1vk
