#include "compiler/plan_test_util.h"

#include <cstdlib>
#include <fstream>
#include <iterator>
#include <unistd.h>

#include "reference/test_configs.h"

namespace r1vk::testing {

TempPlanPath::TempPlanPath(const std::string& stem)
    : path(std::filesystem::temp_directory_path() / (stem + "_" + std::to_string(::getpid()) + ".r1vk")) {}

TempPlanPath::~TempPlanPath() { std::filesystem::remove(path); }

CompileInput compile_input(const ModelConfig& config, const std::string& name, uint32_t seed) {
  CompileInput in;
  in.config = config;
  in.model_name = name;
  in.config_json = "{}";
  in.read = random_weights(seed);
  return in;
}

Result<ref::InterpreterModel> interpreter_model(const plan::LoadedPlan& p) {
  const plan::Manifest& m = p.manifest();
  ref::InterpreterModel model;
  for (size_t i = 0; i < m.tensors.size(); ++i) {
    R1VK_ASSIGN_OR_RETURN(plan::TensorBytes bytes, p.tensor_bytes(i));
    const plan::TensorEntry& t = m.tensors[i];
    PackedWeight w;
    w.format = t.format;
    w.rows = t.rows;
    w.cols = t.cols;
    w.group = t.group;
    w.data.assign(bytes.data.begin(), bytes.data.end());
    w.scales.assign(bytes.scales.begin(), bytes.scales.end());
    model.weights.push_back(unpack_weight(w));
  }
  model.rope_freqs = m.rope_freqs;
  model.rope_magnitude = m.rope_magnitude;
  model.kv_layers = m.memory.kv_layers;
  model.kv_width = m.memory.kv_width;
  model.max_context = m.memory.max_context;
  return model;
}

std::string golden(const std::string& relative_path, const std::string& actual) {
  const char* data = std::getenv("R1VK_TEST_DATA");
  const std::filesystem::path path = std::filesystem::path(data ? data : "tests/data") / relative_path;
  const char* update = std::getenv("R1VK_UPDATE_GOLDENS");
  if (update && std::string(update) == "1") {
    std::filesystem::create_directories(path.parent_path());
    std::ofstream(path) << actual;
    return actual;
  }
  std::ifstream f(path);
  return {std::istreambuf_iterator<char>(f), std::istreambuf_iterator<char>()};
}

}  // namespace r1vk::testing
