#include "import/import_test_util.h"

#include <doctest/doctest.h>

#include <algorithm>
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

namespace {

size_t element_size(const std::string& dtype) {
  if (dtype == "F64" || dtype == "I64" || dtype == "U64") return 8;
  if (dtype == "F32" || dtype == "I32" || dtype == "U32") return 4;
  if (dtype == "BF16" || dtype == "F16" || dtype == "I16" || dtype == "U16") return 2;
  return 1;
}

}  // namespace

RawTensors read_tensors(const std::filesystem::path& file) {
  const std::vector<uint8_t> bytes = read_bytes(file);
  REQUIRE(bytes.size() >= 8);
  uint64_t n = 0;
  for (int i = 7; i >= 0; --i) n = (n << 8) | bytes[static_cast<size_t>(i)];
  REQUIRE(8 + n <= bytes.size());
  const auto header = nlohmann::json::parse(bytes.begin() + 8, bytes.begin() + 8 + static_cast<std::ptrdiff_t>(n));
  const size_t data = 8 + static_cast<size_t>(n);
  RawTensors out;
  for (const auto& [name, entry] : header.items()) {
    if (name == "__metadata__") continue;
    RawTensor t;
    t.dtype = entry["dtype"].get<std::string>();
    t.shape = entry["shape"].get<std::vector<int64_t>>();
    const auto begin = entry["data_offsets"][0].get<size_t>();
    const auto end = entry["data_offsets"][1].get<size_t>();
    REQUIRE(data + end <= bytes.size());
    t.bytes.assign(bytes.begin() + static_cast<std::ptrdiff_t>(data + begin), bytes.begin() + static_cast<std::ptrdiff_t>(data + end));
    out.emplace(name, std::move(t));
  }
  return out;
}

void write_tensors(const std::filesystem::path& file, const RawTensors& tensors) {
  std::vector<const std::pair<const std::string, RawTensor>*> order;
  for (const auto& entry : tensors) order.push_back(&entry);
  std::stable_sort(order.begin(), order.end(), [](const auto* a, const auto* b) {
    return element_size(a->second.dtype) > element_size(b->second.dtype);
  });
  nlohmann::json header = nlohmann::json::object();
  std::vector<uint8_t> data;
  for (const auto* entry : order) {
    const RawTensor& t = entry->second;
    header[entry->first] = {{"dtype", t.dtype}, {"shape", t.shape}, {"data_offsets", {data.size(), data.size() + t.bytes.size()}}};
    data.insert(data.end(), t.bytes.begin(), t.bytes.end());
  }
  std::string text = header.dump();
  text.append((8 - text.size() % 8) % 8, ' ');
  write_bytes(file, safetensors_bytes(text, data));
}

void edit_json_file(const std::filesystem::path& file, const std::function<void(nlohmann::json&)>& edit) {
  nlohmann::json json = nlohmann::json::parse(read_text(file));
  edit(json);
  write_text(file, json.dump(1));
}

}  // namespace r1vk::testing
