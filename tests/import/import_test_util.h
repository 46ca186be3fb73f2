// Shared helpers for the import tests: temporary directories, generated checkpoints, raw files.
#pragma once

#include <cstdint>
#include <filesystem>
#include <functional>
#include <map>
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include "gen_checkpoint.h"
#include "presets.h"

namespace r1vk::testing {

// A fresh directory under the system temp dir, removed with everything in it on destruction.
class TempDir {
 public:
  TempDir();
  ~TempDir();
  TempDir(const TempDir&) = delete;
  TempDir& operator=(const TempDir&) = delete;
  const std::filesystem::path& path() const { return path_; }
  std::string str() const { return path_.string(); }

 private:
  std::filesystem::path path_;
};

// The preset's config, optionally FP8; generation is checked to succeed.
ModelConfig preset(const std::string& name, bool fp8 = false);
// Writes the preset into dir (returns dir as string for convenience).
std::string generate(const std::filesystem::path& dir, const ModelConfig& config, int64_t shards = 1, uint64_t seed = 7);

std::string read_text(const std::filesystem::path& path);
void write_text(const std::filesystem::path& path, const std::string& text);
std::vector<uint8_t> read_bytes(const std::filesystem::path& path);
void write_bytes(const std::filesystem::path& path, const std::vector<uint8_t>& bytes);

// A safetensors file from a header JSON text and a data section.
std::vector<uint8_t> safetensors_bytes(const std::string& header, const std::vector<uint8_t>& data);

// One tensor of a safetensors file as stored: the header's dtype string and shape, and its bytes.
struct RawTensor {
  std::string dtype;
  std::vector<int64_t> shape;
  std::vector<uint8_t> bytes;
};
using RawTensors = std::map<std::string, RawTensor>;

// The tensors of a safetensors file, parsed with nlohmann::json and the format's definition
// (not r1vk's reader), so checkpoint variants are built independently of the code under test.
RawTensors read_tensors(const std::filesystem::path& file);
// Writes `tensors` as a safetensors file: header padded to 8 bytes, widest dtype first so every
// tensor stays aligned, no gaps.
void write_tensors(const std::filesystem::path& file, const RawTensors& tensors);

// Parses a JSON file, applies `edit`, writes it back.
void edit_json_file(const std::filesystem::path& file, const std::function<void(nlohmann::json&)>& edit);

}  // namespace r1vk::testing
