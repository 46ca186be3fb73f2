// GGUF tensors presented under the Hugging Face names the graph builders read
// (MODEL_SPEC.md §3), dequantised to f32 in the Hugging Face layout. Undoes llama.cpp's
// convert_hf_to_gguf.py conventions: `blk.N.*` names, routed experts stacked into one
// `ffn_*_exps` tensor per layer, Llama q/k rows permuted for its adjacent-pair RoPE, and (newer
// DeepSeek files) kv_b_proj split per head into attn_k_b (transposed) and attn_v_b.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include "base/status.h"
#include "import/gguf_config.h"
#include "import/gguf_split.h"

namespace r1vk {

class GgufWeights {
 public:
  GgufWeights(const GgufModelFiles& files, GgufModelInfo info) : files_(files), info_(std::move(info)) {}

  const ModelConfig& config() const { return info_.config; }
  // The tensor `hf_name` as f32 in the Hugging Face [rows, cols] layout.
  Result<std::vector<float>> read(const std::string& hf_name) const;
  // Every tensor expected_tensors(config) lists maps to GGUF tensors of the right size, and every
  // GGUF tensor is used (rope_freqs is consumed by the config). Errors name the tensor.
  Status validate() const;
  // The GGUF tensor (first, for kv_b from split halves) behind a Hugging Face name.
  Result<std::string> gguf_name(const std::string& hf_name) const;
  // The ggml type that tensor is stored in.
  Result<GgmlType> gguf_type(const std::string& hf_name) const;

  // The tensor's blocks as stored, rows in the Hugging Face order ([rows, cols], each row
  // cols / block-size whole blocks), for plans that keep GGUF blocks (docs/gguf.md). nullopt when
  // the rows are not whole stored rows: the split attn_k_b / attn_v_b halves are transposed.
  struct Blocks {
    GgmlType type = GgmlType::kF32;
    std::vector<uint8_t> bytes;
  };
  Result<std::optional<Blocks>> read_blocks(const std::string& hf_name) const;

 private:
  enum class Transform { kNone, kExpertSlice, kUnpermuteQ, kUnpermuteK, kMergeKvB };
  struct Source {
    std::string name;      // GGUF tensor
    std::string name2;     // attn_v_b for kMergeKvB
    Transform transform = Transform::kNone;
    int64_t expert = -1;
  };
  static Source plain(std::string name);
  Result<Source> source(const std::string& hf_name) const;
  Result<std::vector<float>> read_whole(const std::string& name) const;

  const GgufModelFiles& files_;
  GgufModelInfo info_;
};

}  // namespace r1vk
