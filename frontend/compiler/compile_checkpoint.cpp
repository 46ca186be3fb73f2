// compile_checkpoint: the bridge from an imported Hugging Face directory to compile_plan.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>

#include "compiler/compiler.h"
#include "import/dtype.h"
#include "import/import_model.h"

namespace r1vk {
namespace {

namespace fs = std::filesystem;

Result<std::string> read_text(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  if (!f) return make_error(ErrorCode::kIo, "cannot read " + p.string());
  return std::string(std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>());
}

}  // namespace

Result<plan::Manifest> compile_checkpoint(const std::string& dir, const CompileOptions& options, const std::string& out_path,
                                          CompileReport* report) {
  R1VK_ASSIGN_OR_RETURN(ImportedModel model, import_model(dir));
  for (const std::string& w : model.warnings) {
    if (options.warn) {
      options.warn(w);
    } else {
      std::fprintf(stderr, "r1vk: warning: %s\n", w.c_str());
    }
  }
  const Checkpoint& ck = model.checkpoint;
  CompileInput in;
  in.config = model.config;
  in.model_name = fs::path(dir).lexically_normal().filename().string();
  if (in.model_name.empty()) in.model_name = fs::path(dir).lexically_normal().parent_path().filename().string();
  R1VK_ASSIGN_OR_RETURN(in.config_json, read_text(fs::path(dir) / "config.json"));
  if (fs::exists(fs::path(dir) / "tokenizer.json")) {
    R1VK_ASSIGN_OR_RETURN(in.tokenizer_json, read_text(fs::path(dir) / "tokenizer.json"));
    if (fs::exists(fs::path(dir) / "tokenizer_config.json")) {
      R1VK_ASSIGN_OR_RETURN(in.tokenizer_config_json, read_text(fs::path(dir) / "tokenizer_config.json"));
    }
  }
  in.read = [&ck](const std::string& name, int64_t numel) -> Result<std::vector<float>> {
    R1VK_ASSIGN_OR_RETURN(auto v, ck.read_f32(name));
    if (static_cast<int64_t>(v.size()) != numel) {
      return make_error(ErrorCode::kCorruptData, "tensor " + name + " has " + std::to_string(v.size()) +
                                                     " elements, the graph expects " + std::to_string(numel));
    }
    return v;
  };
  in.read_fp8 = [&ck](const std::string& name) -> Result<std::optional<Fp8Source>> {
    R1VK_ASSIGN_OR_RETURN(TensorRef ref, ck.tensor(name));
    if (ref.info->dtype != DType::kF8E4M3) return std::optional<Fp8Source>();
    Fp8Source s;
    s.q = ref.bytes;
    R1VK_ASSIGN_OR_RETURN(s.scale_inv, ck.read_f32(name + kScaleSuffix));
    return std::optional<Fp8Source>(std::move(s));
  };
  return compile_plan(in, options, out_path, report);
}

}  // namespace r1vk
