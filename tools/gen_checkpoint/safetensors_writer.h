// Streams a safetensors file: the header is computed from the planned tensors up front, then each
// tensor's bytes are produced in order, so memory stays bounded whatever the file size.
#pragma once

#include <cstdint>
#include <cstdio>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "import/dtype.h"

namespace r1vk::gen {

struct PlannedTensor {
  std::string name;
  DType dtype = DType::kBF16;
  std::vector<int64_t> shape;
  uint64_t byte_size() const;
};

// Receives one tensor's bytes in pieces; counts them so a producer cannot write too few or many.
class ByteSink {
 public:
  ByteSink(std::FILE* file, std::string path) : file_(file), path_(std::move(path)) {}
  Status write(std::span<const uint8_t> bytes);
  uint64_t written() const { return written_; }
  void reset_count() { written_ = 0; }

 private:
  std::FILE* file_;
  std::string path_;
  uint64_t written_ = 0;
};

using TensorProducer = std::function<Status(size_t index, ByteSink& sink)>;

// The JSON header (padded with spaces to a multiple of 8 so data stays aligned) for the tensors
// laid out back to back in the given order.
std::string safetensors_header(const std::vector<PlannedTensor>& tensors,
                               const std::map<std::string, std::string>& metadata);

Status write_safetensors(const std::string& path, const std::vector<PlannedTensor>& tensors,
                         const std::map<std::string, std::string>& metadata, const TensorProducer& produce);

}  // namespace r1vk::gen
