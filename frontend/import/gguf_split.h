// A GGUF model as one file or as llama.cpp's splits `NAME-00001-of-0000N.gguf` (keys split.no,
// split.count, split.tensors.count): every split is opened and validated, the metadata comes from
// the first, tensor names are unique across splits and the total matches split.tensors.count.
#pragma once

#include <string>
#include <unordered_map>
#include <vector>

#include "base/status.h"
#include "import/gguf_file.h"

namespace r1vk {

inline constexpr int64_t kMaxGgufSplits = 999;

struct GgufTensorRef {
  const GgufTensorInfo* info = nullptr;
  std::span<const uint8_t> bytes;
  const std::string* path = nullptr;
};

class GgufModelFiles {
 public:
  // `path` is a single .gguf file or the first split (-00001-of-0000N.gguf).
  static Result<GgufModelFiles> open(const std::string& path);

  const std::string& path() const { return files_.front().path(); }
  const GgufMetadata& metadata() const { return files_.front().metadata(); }
  const std::vector<GgufFile>& files() const { return files_; }
  size_t tensor_count() const { return where_.size(); }
  bool contains(const std::string& name) const { return where_.count(name) != 0; }
  const GgufTensorInfo* find(const std::string& name) const;
  Result<GgufTensorRef> tensor(const std::string& name) const;
  std::vector<std::string> tensor_names() const;  // sorted

 private:
  explicit GgufModelFiles(std::vector<GgufFile> files);
  std::vector<GgufFile> files_;
  std::unordered_map<std::string, std::pair<size_t, const GgufTensorInfo*>> where_;
};

// "dir/NAME-00002-of-00005.gguf" for (first split path, index 1, count 5); empty when `first`
// does not follow the naming.
std::string gguf_split_path(const std::string& first, int64_t index, int64_t count);
// N from "NAME-0000k-of-0000N.gguf"; 1 for any other name.
int64_t gguf_split_count_from_name(const std::string& path);

}  // namespace r1vk
