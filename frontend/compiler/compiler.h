// `r1vk compile`: lowers an imported checkpoint into a plan file, tensor by tensor.
#pragma once

#include <cstdint>
#include <functional>
#include <optional>
#include <span>
#include <vector>
#include <string>

#include "base/status.h"
#include "compiler/weight_materializer.h"
#include "import/model_config.h"
#include "import/weight_source.h"
#include "plan/manifest.h"

namespace r1vk {

// An FP8 checkpoint tensor as stored: e4m3 bytes and its f32 block scales (scale_inv).
struct Fp8Source {
  std::span<const uint8_t> q;
  std::vector<float> scale_inv;
};
// Returns the tensor's raw FP8 form, or nullopt when it is not stored as F8_E4M3.
using Fp8Fn = std::function<Result<std::optional<Fp8Source>>(const std::string& name)>;

// A tensor stored in a block format a plan can keep verbatim (GGUF Q8_0 / Q4_K / Q6_K as
// q8_0 / q4_k / q6_k): rows * cols / block-size blocks, row-major.
struct BlockSource {
  WeightFormat format = WeightFormat::kQ8_0;
  std::vector<uint8_t> bytes;
};
// Returns the tensor's blocks, or nullopt when it is stored otherwise.
using BlockFn = std::function<Result<std::optional<BlockSource>>(const std::string& name)>;

struct CompileInput {
  ModelConfig config;
  std::string model_name;
  std::string config_json;
  std::string tokenizer_json;         // empty: no tokenizer (token-id interfaces only)
  std::string tokenizer_config_json;
  WeightFn read;                      // dequantised checkpoint tensors
  // Optional: rows of a checkpoint matrix, dequantised. With it, tensors larger than
  // CompileOptions::slice_elements are converted slice by slice (bounded memory); without it,
  // whole.
  WeightRowsFn read_rows;
  // Optional: called once the compiler is done with a whole source tensor it read (through
  // `read`, `read_fp8` or `read_blocks`), so the source can drop its pages.
  std::function<void(const std::string& source_name)> release;
  Fp8Fn read_fp8;                     // optional: lets fp8 plans keep FP8 weights bit for bit
  BlockFn read_blocks;                // optional: with --weights auto, block-quantised weights stay as stored
  // Optional, used with --weights auto for linear weights: the plan format closest to how the
  // source stores the tensor (GGUF quant types); nullopt keeps the default choice.
  std::function<std::optional<WeightFormat>(const std::string& source_name)> source_format;
};

inline constexpr int64_t kDefaultContext = 4096;

struct CompileOptions {
  std::string weights = "f16";  // f32 | f16 | q8 | q4 | fp8 | q8_0 | q4_k | q6_k | auto
  int64_t q4_group = 32;
  int64_t max_context = 4096;  // 0: min(kDefaultContext, the model's max_position_embeddings)
  int64_t prefill_chunk = 0;  // rows per step the arena is planned for; 0: choose_prefill_chunk()
  // Called after each tensor or tensor slice is written, with (f32-equivalent bytes of source
  // weights done, total), on the calling thread.
  std::function<void(uint64_t done, uint64_t total)> progress;
  // Worker threads that dequantise and quantise (0: std::thread::hardware_concurrency()). The
  // plan is byte-identical for any count.
  int threads = 0;
  // Tensors with more elements than this are converted in row slices of at most about this
  // many elements (whole heads of absorbed MLA matrices, 128-row multiples for FP8 blocks), when
  // the input can read rows. What bounds the compiler's working set (docs/import.md, "Compile
  // memory"). Tests lower it to exercise slicing on small models.
  int64_t slice_elements = int64_t{1} << 22;
  // compile_checkpoint: receives each import warning once (ImportedModel::warnings: no MTP layer,
  // token ids that do not fit, ...). Unset: each is printed to stderr as "r1vk: warning: ...".
  std::function<void(const std::string& warning)> warn;
};

struct CompileReport {
  uint64_t source_bytes = 0;  // f32-equivalent bytes read
  uint64_t plan_bytes = 0;
  double seconds = 0.0;
};

// Builds the graph, packs every tensor, plans memory and writes `out_path`. The manifest of the
// finished file is returned so callers can report on it.
Result<plan::Manifest> compile_plan(const CompileInput& input, const CompileOptions& options, const std::string& out_path,
                                    CompileReport* report = nullptr);

// Imports the checkpoint directory (config, shards, tensor inventory) and compiles it.
Result<plan::Manifest> compile_checkpoint(const std::string& dir, const CompileOptions& options, const std::string& out_path,
                                          CompileReport* report = nullptr);

// --weights auto: q8 bulk weights (the best speed/quality trade-off on memory-bound decode).
Result<FormatChoice> resolve_format_choice(const std::string& weights, int64_t q4_group);

}  // namespace r1vk
