// ggml tensor element types as GGUF files number them (ggml's `ggml_type`), with the block
// geometry every reader needs to size a tensor: `block_elements` values are stored in
// `block_bytes` bytes. Types r1vk cannot decode (IQ*, TQ*, MXFP4, Q8_1, Q8_K) are still named, so
// refusing one says which type it was.
#pragma once

#include <cstdint>
#include <optional>
#include <string>

namespace r1vk {

enum class GgmlType : uint32_t {
  kF32 = 0,
  kF16 = 1,
  kQ4_0 = 2,
  kQ4_1 = 3,
  kQ5_0 = 6,
  kQ5_1 = 7,
  kQ8_0 = 8,
  kQ8_1 = 9,
  kQ2_K = 10,
  kQ3_K = 11,
  kQ4_K = 12,
  kQ5_K = 13,
  kQ6_K = 14,
  kQ8_K = 15,
  kIQ2_XXS = 16,
  kIQ2_XS = 17,
  kIQ3_XXS = 18,
  kIQ1_S = 19,
  kIQ4_NL = 20,
  kIQ3_S = 21,
  kIQ2_S = 22,
  kIQ4_XS = 23,
  kI8 = 24,
  kI16 = 25,
  kI32 = 26,
  kI64 = 27,
  kF64 = 28,
  kIQ1_M = 29,
  kBF16 = 30,
  kTQ1_0 = 34,
  kTQ2_0 = 35,
  kMXFP4 = 39,
};

struct GgmlTypeInfo {
  GgmlType type;
  const char* name;        // ggml's spelling: "Q4_K", "BF16", "IQ2_XXS"
  uint32_t block_elements;  // values per block (1 for plain types)
  uint32_t block_bytes;     // bytes per block
  bool decodable;           // r1vk dequantises it to f32
};

// nullopt for an id ggml never assigned (or retired: 4, 5, 31-33, 36-38).
std::optional<GgmlTypeInfo> ggml_type_info(uint32_t id);
const GgmlTypeInfo& ggml_type_info(GgmlType type);
const char* ggml_type_name(GgmlType type);
// "F32 F16 BF16 Q8_0 ..." for error messages.
std::string decodable_ggml_type_names();

}  // namespace r1vk
