#include "default_model.h"

#include <filesystem>
#include <system_error>

namespace r1vk::cli {
namespace {

namespace fs = std::filesystem;

// The running executable's directory, from /proc/self/exe (argv[0] can be a bare name found on
// PATH or a relative path); empty where /proc is not mounted.
fs::path executable_dir() {
  std::error_code ec;
  const fs::path exe = fs::read_symlink("/proc/self/exe", ec);
  return ec ? fs::path() : exe.parent_path();
}

}  // namespace

std::string default_model_dir() {
  // R1VK_INSTALLED_MODEL: the model's install directory relative to the executable's, set by
  // tools/CMakeLists.txt from GNUInstallDirs. R1VK_SOURCE_MODEL: the source tree's copy.
  const fs::path dir = executable_dir();
  const fs::path installed = dir.empty() ? fs::path() : (dir / R1VK_INSTALLED_MODEL).lexically_normal();
  std::error_code ec;
  if (!installed.empty() && fs::is_directory(installed, ec)) return installed.string();
  if (fs::is_directory(R1VK_SOURCE_MODEL, ec)) return R1VK_SOURCE_MODEL;
  return installed.empty() ? std::string(R1VK_SOURCE_MODEL) : installed.string();
}

}  // namespace r1vk::cli
