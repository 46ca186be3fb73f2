#include "import/import_test_util.h"

#include <doctest/doctest.h>

#include <atomic>
#include <fstream>
#include <random>
#include <sstream>
#include <unistd.h>

namespace r1vk::testing {

TempDir::TempDir() {
  static std::atomic<int> counter{0};
  path_ = std::filesystem::temp_directory_path() /
          ("r1vk-import-" + std::to_string(::getpid()) + "-" + std::to_string(counter++));
  std::filesystem::remove_all(path_);
  std::filesystem::create_directories(path_);
}

TempDir::~TempDir() {
  std::error_code ec;
  std::filesystem::remove_all(path_, ec);
}

ModelConfig preset(const std::string& name, bool fp8) {
  auto config = gen::preset_config(name);
  REQUIRE(config.ok());
  ModelConfig c = *config;
  c.fp8.enabled = fp8;
  return c;
}

std::string generate(const std::filesystem::path& dir, const ModelConfig& config, int64_t shards, uint64_t seed) {
  gen::GenOptions options;
  options.config = config;
  options.shards = shards;
  options.seed = seed;
  auto summary = gen::generate_checkpoint(dir.string(), options);
  if (!summary.ok()) FAIL(summary.error().message());
  return dir.string();
}

std::string read_text(const std::filesystem::path& path) {
  std::ifstream in(path, std::ios::binary);
  std::stringstream s;
  s << in.rdbuf();
  return s.str();
}

void write_text(const std::filesystem::path& path, const std::string& text) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out << text;
}

std::vector<uint8_t> read_bytes(const std::filesystem::path& path) {
  const std::string s = read_text(path);
  return {s.begin(), s.end()};
}

void write_bytes(const std::filesystem::path& path, const std::vector<uint8_t>& bytes) {
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  out.write(reinterpret_cast<const char*>(bytes.data()), static_cast<std::streamsize>(bytes.size()));
}

std::vector<uint8_t> safetensors_bytes(const std::string& header, const std::vector<uint8_t>& data) {
  std::vector<uint8_t> out(8);
  for (int i = 0; i < 8; ++i) out[static_cast<size_t>(i)] = static_cast<uint8_t>(static_cast<uint64_t>(header.size()) >> (8 * i));
  out.insert(out.end(), header.begin(), header.end());
  out.insert(out.end(), data.begin(), data.end());
  return out;
}

}  // namespace r1vk::testing
