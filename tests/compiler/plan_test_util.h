// Compiles test configs into temporary plan files and loads them back for the CPU interpreter.
#pragma once

#include <filesystem>
#include <string>

#include "compiler/compiler.h"
#include "plan/loaded_plan.h"
#include "reference/program_interpreter.h"

namespace r1vk::testing {

// A plan file in the temp directory, removed when this goes out of scope.
struct TempPlanPath {
  std::filesystem::path path;
  explicit TempPlanPath(const std::string& stem);
  ~TempPlanPath();
  std::string str() const { return path.string(); }
};

CompileInput compile_input(const ModelConfig& config, const std::string& name, uint32_t seed);

// Unpacks every tensor of a loaded plan for the interpreter.
Result<ref::InterpreterModel> interpreter_model(const plan::LoadedPlan& plan);

// Reads a golden file from tests/data, or rewrites it when R1VK_UPDATE_GOLDENS=1.
std::string golden(const std::string& relative_path, const std::string& actual);

}  // namespace r1vk::testing
