// compile_checkpoint: the bridge from an imported Hugging Face directory to compile_plan.
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <limits>

#include "compiler/compiler.h"
#include "import/dtype.h"
#include "import/gguf_import.h"
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

// A GGUF file. With --weights auto, Q8_0 / Q4_K / Q6_K tensors keep their blocks (plan formats
// q8_0 / q4_k / q6_k, decoded by the shaders); every other tensor is dequantised to f32 and packed
// in the plan format nearest its type (docs/gguf.md, "The conversion choice").
Result<plan::Manifest> compile_gguf(const std::string& path, const CompileOptions& options, const std::string& out_path,
                                    CompileReport* report) {
  R1VK_ASSIGN_OR_RETURN(GgufImport model, import_gguf(path));
  CompileInput in;
  in.config = model.config();
  in.model_name = fs::path(path).stem().string();
  if (auto name = model.files->metadata().string_or("general.name", ""); name.ok() && !name->empty()) in.model_name = *name;
  in.config_json = model.config_json;
  in.tokenizer_json = model.tokenizer.tokenizer_json;
  in.tokenizer_config_json = model.tokenizer.tokenizer_config_json;
  in.read = model.weight_fn();
  const GgufWeights* weights = model.weights.get();
  in.read_blocks = [weights](const std::string& name) -> Result<std::optional<BlockSource>> {
    R1VK_ASSIGN_OR_RETURN(GgmlType type, weights->gguf_type(name));
    if (type != GgmlType::kQ8_0 && type != GgmlType::kQ4_K && type != GgmlType::kQ6_K) return std::optional<BlockSource>();
    R1VK_ASSIGN_OR_RETURN(auto blocks, weights->read_blocks(name));
    if (!blocks) return std::optional<BlockSource>();
    BlockSource s;
    s.format = type == GgmlType::kQ8_0 ? WeightFormat::kQ8_0 : type == GgmlType::kQ4_K ? WeightFormat::kQ4K : WeightFormat::kQ6K;
    s.bytes = std::move(blocks->bytes);
    return std::optional<BlockSource>(std::move(s));
  };
  in.source_format = [weights](const std::string& name) -> std::optional<WeightFormat> {
    auto type = weights->gguf_type(name);
    if (!type.ok()) return std::nullopt;
    switch (*type) {
      case GgmlType::kQ8_0:
      case GgmlType::kQ6_K:
      case GgmlType::kQ5_0:
      case GgmlType::kQ5_1:
      case GgmlType::kQ5_K: return WeightFormat::kQ8;
      case GgmlType::kQ4_0:
      case GgmlType::kQ4_1:
      case GgmlType::kQ4_K:
      case GgmlType::kQ3_K:
      case GgmlType::kQ2_K: return WeightFormat::kQ4;
      default: return WeightFormat::kF16;
    }
  };
  return compile_plan(in, options, out_path, report);
}

Result<plan::Manifest> compile_checkpoint(const std::string& dir, const CompileOptions& options, const std::string& out_path,
                                          CompileReport* report) {
  if (is_gguf_file(dir)) return compile_gguf(dir, options, out_path, report);
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
  // Slices of large tensors: the rows are converted, then their pages leave the resident set, so
  // compiling does not accumulate the checkpoint's mapping (docs/import.md, "Compile memory").
  in.read_rows = [&ck](const std::string& name, int64_t row_begin, int64_t row_end, int64_t cols) -> Result<std::vector<float>> {
    R1VK_ASSIGN_OR_RETURN(TensorRef ref, ck.tensor(name));
    if (ref.info->shape.size() != 2 || ref.info->shape[1] != cols) {
      return make_error(ErrorCode::kCorruptData, "tensor " + name + " has shape " + shape_to_string(ref.info->shape) +
                                                     ", the graph expects rows of " + std::to_string(cols));
    }
    auto v = ck.read_f32_rows(name, row_begin, row_end);
    ck.release(name, row_begin, row_end);
    return v;
  };
  in.release = [&ck](const std::string& name) { ck.release(name, 0, std::numeric_limits<int64_t>::max()); };
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
