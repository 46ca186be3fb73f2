// One safetensors file (MODEL_SPEC.md §3): 8-byte little-endian header length, JSON header, data.
// Everything in the header is validated before any tensor is handed out; data stays in the
// read-only mapping (zero-copy).
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "import/dtype.h"
#include "base/mapped_file.h"

namespace r1vk {

inline constexpr uint64_t kMaxSafetensorsHeaderBytes = 100ull << 20;
inline constexpr size_t kMaxTensorRank = 8;

struct TensorInfo {
  std::string name;
  DType dtype = DType::kF32;
  std::vector<int64_t> shape;
  uint64_t element_count = 0;
  uint64_t data_begin = 0;  // byte offsets relative to the start of the data section
  uint64_t data_end = 0;
};

struct SafetensorsHeader {
  std::vector<TensorInfo> tensors;  // sorted by name
  std::map<std::string, std::string> metadata;  // "__metadata__"
  uint64_t data_offset = 0;  // 8 + header length: where the data section starts in the file
};

// Validates the header of a whole file's bytes. `what` (the path) prefixes every message.
Result<SafetensorsHeader> parse_safetensors(std::span<const uint8_t> file, const std::string& what);

std::string shape_to_string(const std::vector<int64_t>& shape);  // "[3, 4]"

class SafetensorsFile {
 public:
  static Result<SafetensorsFile> open(const std::string& path);

  const std::string& path() const { return file_.path(); }
  const std::vector<TensorInfo>& tensors() const { return header_.tensors; }
  const std::map<std::string, std::string>& metadata() const { return header_.metadata; }
  const TensorInfo* find(const std::string& name) const;
  // The tensor's bytes inside the mapping; valid while this object lives.
  std::span<const uint8_t> data(const TensorInfo& tensor) const;
  // Drops the pages of `bytes` (a part of data()) from the resident set (MappedFile::release).
  void release(std::span<const uint8_t> bytes) const { file_.release(bytes); }

 private:
  SafetensorsFile(MappedFile file, SafetensorsHeader header);

  MappedFile file_;
  SafetensorsHeader header_;
  std::unordered_map<std::string, size_t> by_name_;
};

}  // namespace r1vk
