// A GGUF writer for tests and tools, from the published format (ggml docs/gguf.md): typed
// metadata, tensor infos, zero padding to the alignment, tensor data. It can also write files
// the reader must refuse (raw values, any alignment, any offsets), for the bad-input corpus.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/status.h"
#include "import/gguf_metadata.h"
#include "import/gguf_types.h"

namespace r1vk::gen {

class GgufBuilder {
 public:
  void add_u8(const std::string& key, uint8_t v);
  void add_i8(const std::string& key, int8_t v);
  void add_u16(const std::string& key, uint16_t v);
  void add_i16(const std::string& key, int16_t v);
  void add_u32(const std::string& key, uint32_t v);
  void add_i32(const std::string& key, int32_t v);
  void add_u64(const std::string& key, uint64_t v);
  void add_i64(const std::string& key, int64_t v);
  void add_f32(const std::string& key, float v);
  void add_f64(const std::string& key, double v);
  void add_bool(const std::string& key, bool v);
  void add_string(const std::string& key, const std::string& v);
  void add_strings(const std::string& key, const std::vector<std::string>& v);
  void add_i32s(const std::string& key, const std::vector<int32_t>& v);
  void add_f32s(const std::string& key, const std::vector<float>& v);
  // A key with an already encoded value (type id + payload), for nested arrays and bad values.
  void add_raw(const std::string& key, uint32_t type, const std::vector<uint8_t>& payload);

  // `dims` in GGUF order (ne[0] fastest); `data` must hold the tensor's bytes.
  void add_tensor(const std::string& name, std::vector<uint64_t> dims, GgmlType type, std::vector<uint8_t> data);
  // Same, with the data offset forced (relative to the data section) for corrupt files.
  void add_tensor_at(const std::string& name, std::vector<uint64_t> dims, uint32_t type, std::vector<uint8_t> data,
                     uint64_t offset);

  uint32_t version = 3;
  uint32_t alignment = 32;  // used for padding; write general.alignment yourself to declare another

  std::vector<uint8_t> bytes() const;
  Status write(const std::string& path) const;

  size_t tensor_count() const { return tensors_.size(); }

 private:
  struct Tensor {
    std::string name;
    std::vector<uint64_t> dims;
    uint32_t type;
    std::vector<uint8_t> data;
    bool forced = false;
    uint64_t offset = 0;
  };
  void add(const std::string& key, uint32_t type, const std::vector<uint8_t>& payload);
  std::vector<std::pair<std::string, std::vector<uint8_t>>> kv_;  // key -> type id + payload
  std::vector<Tensor> tensors_;
};

// Little-endian encodings for hand-built payloads.
void put_u32(std::vector<uint8_t>& out, uint32_t v);
void put_u64(std::vector<uint8_t>& out, uint64_t v);
void put_string(std::vector<uint8_t>& out, const std::string& s);

struct GgufConvertOptions {
  // 2-D+ tensors: F16, BF16, F32, Q8_0, Q4_K or Q6_K; 1-D stay F32. Rows that are not whole
  // blocks fall back as llama.cpp's quantize does: Q4_K / Q6_K -> Q8_0 -> F16.
  GgmlType weight_type = GgmlType::kF16;
  // With Q4_K: the Q4_K_M mix (ffn_down, attn_v and output in Q6_K, the rest Q4_K).
  bool q4_k_m = false;
  bool split_kv_b = true;  // newer llama.cpp layout (attn_k_b / attn_v_b) instead of attn_kv_b
  int64_t splits = 1;      // >1: NAME-0000k-of-0000N.gguf files (out_path is the first)
};

// Converts a checkpoint directory (config.json, safetensors, tokenizer.json) into GGUF the way
// llama.cpp's convert_hf_to_gguf.py does for llama, qwen2 and deepseek2 (names, metadata keys,
// Llama q/k permutation, stacked experts, kv_b split, rope_freqs). Writes to `out_path`; with
// splits the names follow llama.cpp's gguf-split.
Status convert_checkpoint_to_gguf(const std::string& dir, const std::string& out_path, const GgufConvertOptions& options);

// The tokenizer.ggml.* / tokenizer.chat_template keys for a Hugging Face tokenizer.json (+
// tokenizer_config.json, may be empty), as the converter writes them.
Status add_tokenizer_metadata(GgufBuilder& b, const std::string& tokenizer_json, const std::string& tokenizer_config_json,
                              const std::string& pre, int64_t vocab_size);

// Q8_0 blocks of `values` (a multiple of 32): d = max|x| / 127 as f16, q = round(x / d).
std::vector<uint8_t> quantize_q8_0(const std::vector<float>& values);

}  // namespace r1vk::gen
