#include "text/tokenizer_test_data.h"

#include <doctest/doctest.h>

#include <cstdlib>
#include <fstream>
#include <map>
#include <memory>
#include <mutex>
#include <sstream>

namespace r1vk::text::testing {

std::filesystem::path tokenizer_dir(const std::string& name) {
  const char* dir = std::getenv("R1VK_TOKENIZER_DATA");
  REQUIRE_MESSAGE(dir != nullptr, "R1VK_TOKENIZER_DATA is not set (run the tests through ctest)");
  return std::filesystem::path(dir) / name;
}

std::filesystem::path source_data_dir(const std::string& name) {
  const char* dir = std::getenv("R1VK_TEST_DATA");
  REQUIRE_MESSAGE(dir != nullptr, "R1VK_TEST_DATA is not set (run the tests through ctest)");
  return std::filesystem::path(dir) / "tokenizers" / name;
}

const Tokenizer& tokenizer(const std::string& name) {
  static std::mutex mutex;
  static std::map<std::string, std::unique_ptr<Tokenizer>> loaded;
  std::lock_guard<std::mutex> lock(mutex);
  auto& slot = loaded[name];
  if (!slot) {
    auto t = Tokenizer::from_directory(tokenizer_dir(name));
    REQUIRE_MESSAGE(t.ok(), (t.ok() ? std::string() : t.error().message()));
    slot = std::make_unique<Tokenizer>(std::move(t).value());
  }
  return *slot;
}

std::string read_text_file(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  REQUIRE_MESSAGE(in.good(), "cannot open " << path.string());
  std::ostringstream ss;
  ss << in.rdbuf();
  return ss.str();
}

}  // namespace r1vk::text::testing
