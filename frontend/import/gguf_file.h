// One GGUF file (ggml docs/gguf.md, versions 2 and 3, little-endian), memory-mapped: header,
// metadata, tensor infos and the aligned data section. Everything read from the file is checked
// before use with overflow-safe arithmetic: counts against the bytes that could hold them, string
// lengths, dimensions and their products, sizes and offsets against the file size, alignment
// (`general.alignment`, a power of two), tensor overlap, duplicate keys and names, known types.
// Malformed input is kCorruptData, a valid but unsupported file (big-endian, version 1, an IQ
// type) kUnsupported; each message names the file and the key or tensor.
#pragma once

#include <cstdint>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "base/mapped_file.h"
#include "base/status.h"
#include "import/gguf_metadata.h"
#include "import/gguf_tensors.h"

namespace r1vk {

inline constexpr uint32_t kGgufMagic = 0x46554747;  // "GGUF" read as a little-endian u32
inline constexpr uint32_t kGgufDefaultAlignment = 32;
inline constexpr int kMaxGgufArrayDepth = 4;       // nested arrays deeper than this are refused
inline constexpr uint64_t kMaxGgufStringBytes = 64ull << 20;
inline constexpr uint64_t kMaxGgufNameBytes = 1024;  // keys and tensor names

struct GgufHeader {
  uint32_t version = 0;
  GgufMetadata metadata;
  std::vector<GgufTensorInfo> tensors;  // in file order
  uint32_t alignment = kGgufDefaultAlignment;
  uint64_t data_offset = 0;  // where the data section starts in the file
};

// Parses and validates a whole file's bytes; `what` (the path) prefixes every message.
Result<GgufHeader> parse_gguf(std::span<const uint8_t> file, const std::string& what);

class GgufFile {
 public:
  static Result<GgufFile> open(const std::string& path);
  // Parses bytes that stay owned by the caller (tests, fuzzing).
  static Result<GgufFile> from_bytes(std::span<const uint8_t> bytes, const std::string& what);

  const std::string& path() const { return path_; }
  uint32_t version() const { return header_.version; }
  uint32_t alignment() const { return header_.alignment; }
  const GgufMetadata& metadata() const { return header_.metadata; }
  const std::vector<GgufTensorInfo>& tensors() const { return header_.tensors; }
  const GgufTensorInfo* find(const std::string& name) const;
  // The tensor's bytes inside the mapping; valid while this object lives.
  std::span<const uint8_t> data(const GgufTensorInfo& tensor) const;

 private:
  GgufFile(MappedFile file, std::span<const uint8_t> bytes, std::string path, GgufHeader header);

  MappedFile file_;
  std::span<const uint8_t> bytes_;
  std::string path_;
  GgufHeader header_;
  std::unordered_map<std::string, size_t> by_name_;
};

}  // namespace r1vk
