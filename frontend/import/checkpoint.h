// The tensors of a Hugging Face checkpoint directory: one `model.safetensors`, or shards named
// by `model.safetensors.index.json`. Every shard header is validated on open, every indexed tensor
// must be in its shard and every shard tensor must be indexed. Tensor data is zero-copy views
// into the mappings; read_f32 converts (and dequantises FP8) on request.
#pragma once

#include <cstdint>
#include <map>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "import/safetensors_file.h"

namespace r1vk {

inline constexpr const char* kSingleFileName = "model.safetensors";
inline constexpr const char* kIndexFileName = "model.safetensors.index.json";
inline constexpr const char* kScaleSuffix = "_scale_inv";  // "<module>.weight" -> "<module>.weight_scale_inv"

struct TensorRef {
  const TensorInfo* info = nullptr;
  std::span<const uint8_t> bytes;  // inside the shard's mapping
  const std::string* shard = nullptr;  // shard path, for messages
};

class Checkpoint {
 public:
  static Result<Checkpoint> open(const std::string& dir);

  const std::string& dir() const { return dir_; }
  const std::vector<SafetensorsFile>& shards() const { return shards_; }
  size_t tensor_count() const { return where_.size(); }
  std::vector<std::string> tensor_names() const;  // sorted
  std::vector<std::string> tensor_names(const std::string& prefix) const;  // sorted, those starting with prefix
  bool contains(const std::string& name) const { return where_.count(name) != 0; }

  Result<TensorRef> tensor(const std::string& name) const;

  // Zero-copy typed access: `T` must match the dtype's size (uint16_t for BF16/F16, uint8_t for
  // F8_E4M3, float for F32) and the data must be aligned for T.
  template <typename T>
  Result<std::span<const T>> typed_view(const std::string& name, DType dtype) const;

  // The tensor as f32, exactly: F32/F16/BF16/F8_E4M3 (scaled by `<name>_scale_inv` in blocks of
  // fp8_block_n x fp8_block_k) and integer types.
  Result<std::vector<float>> read_f32(const std::string& name) const;
  // Rows [row_begin, row_end) of a 2-D tensor as f32, exactly as read_f32 gives them (FP8 scaled
  // by the scale rows those rows fall in): (row_end - row_begin) * shape[1] values. What lets the
  // compiler convert a tensor slice by slice. Errors: not 2-D, rows outside [0, shape[0]].
  Result<std::vector<float>> read_f32_rows(const std::string& name, int64_t row_begin, int64_t row_end) const;
  // Drops the pages of a tensor's rows [row_begin, row_end) (and of their FP8 scale rows) from
  // this process's resident set once a streaming reader is done with them; a later read faults
  // them in again. Rows past the end are clipped; 1-D tensors are released whole. Unknown names
  // are ignored.
  void release(const std::string& name, int64_t row_begin, int64_t row_end) const;

  void set_fp8_block(int64_t block_n, int64_t block_k) {
    fp8_block_n_ = block_n;
    fp8_block_k_ = block_k;
  }

 private:
  struct Location {
    size_t shard;
    size_t tensor;
  };
  Checkpoint(std::string dir, std::vector<SafetensorsFile> shards, std::map<std::string, Location> where)
      : dir_(std::move(dir)), shards_(std::move(shards)), where_(std::move(where)) {}
  // The F32 block scales of an FP8 tensor, checked against its shape and the block size.
  Result<TensorRef> fp8_scales(const std::string& name, const TensorRef& ref) const;
  Status check_view(const std::string& name, DType dtype, size_t elem_size, size_t align, TensorRef& out) const;

  std::string dir_;
  std::vector<SafetensorsFile> shards_;
  std::map<std::string, Location> where_;
  int64_t fp8_block_n_ = 128;
  int64_t fp8_block_k_ = 128;
};

template <typename T>
Result<std::span<const T>> Checkpoint::typed_view(const std::string& name, DType dtype) const {
  TensorRef ref;
  R1VK_TRY(check_view(name, dtype, sizeof(T), alignof(T), ref));
  return std::span<const T>(reinterpret_cast<const T*>(ref.bytes.data()), ref.info->element_count);
}

}  // namespace r1vk
