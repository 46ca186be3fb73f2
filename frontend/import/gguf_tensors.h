// GGUF tensor infos: name, dimensions, ggml type and where the data lies. GGUF lists dimensions
// fastest-varying first (ggml's ne[0] is the row length), so a Hugging Face [out, in] weight has
// dims {in, out}; `shape()` gives the row-major (outermost first) view.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "import/gguf_types.h"

namespace r1vk {

inline constexpr size_t kMaxGgufDims = 4;  // GGML_MAX_DIMS

struct GgufTensorInfo {
  std::string name;
  std::vector<uint64_t> dims;  // ne[0], ne[1], ... (ne[0] varies fastest)
  GgmlType type = GgmlType::kF32;
  uint64_t offset = 0;  // from the start of the file's data section
  uint64_t elements = 0;
  uint64_t bytes = 0;

  std::vector<int64_t> shape() const;  // dims reversed: {ne[n-1], ..., ne[0]}
  uint64_t row_length() const { return dims.empty() ? 1 : dims[0]; }
};

std::string gguf_dims_to_string(const std::vector<uint64_t>& dims);  // "{4096, 11008}", ggml order

}  // namespace r1vk
