#include "import/gguf_import.h"

#include <filesystem>
#include <fstream>

#include "import/config_writer.h"

namespace r1vk {

bool is_gguf_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) return false;
  std::ifstream f(path, std::ios::binary);
  char magic[4] = {};
  f.read(magic, 4);
  return f.gcount() == 4 && magic[0] == 'G' && magic[1] == 'G' && magic[2] == 'U' && magic[3] == 'F';
}

WeightFn GgufImport::weight_fn() const {
  const GgufWeights* w = weights.get();
  return [w](const std::string& name, int64_t numel) -> Result<std::vector<float>> {
    R1VK_ASSIGN_OR_RETURN(auto v, w->read(name));
    if (static_cast<int64_t>(v.size()) != numel) {
      return make_error(ErrorCode::kCorruptData, "tensor " + name + " has " + std::to_string(v.size()) +
                                                     " elements, the graph expects " + std::to_string(numel));
    }
    return v;
  };
}

Result<GgufImport> import_gguf(const std::string& path) {
  GgufImport im;
  R1VK_ASSIGN_OR_RETURN(GgufModelFiles files, GgufModelFiles::open(path));
  im.files = std::make_unique<GgufModelFiles>(std::move(files));
  R1VK_ASSIGN_OR_RETURN(GgufModelInfo info, gguf_model_config(*im.files));
  im.weights = std::make_unique<GgufWeights>(*im.files, std::move(info));
  R1VK_TRY(im.weights->validate());
  im.config_json = model_config_to_json(im.config()).dump(2);
  auto tok = gguf_tokenizer_json(im.files->metadata());
  if (!tok.ok()) return std::move(tok).error().with_context(path);
  im.tokenizer = std::move(tok).value();
  return im;
}

}  // namespace r1vk
