// The manifest of a plan file: everything but the weight bytes. Serialised as JSON inside the
// plan container; loading validates every index, range and size before anything trusts them.
#pragma once

#include <cstdint>
#include <string>
#include <vector>

#include "base/json_fields.h"
#include "base/status.h"
#include "plan/plan_format.h"
#include "plan/program.h"
#include "plan/weight_format.h"

namespace r1vk::plan {

struct TensorEntry {
  std::string name;
  WeightFormat format = WeightFormat::kF16;
  int64_t rows = 0;
  int64_t cols = 0;
  int64_t group = 0;
  BlobRef data;
  BlobRef scales;  // size 0 for f32/f16
  double quant_nmse = 0.0;  // normalised MSE against the source weights, for reports
};

struct MemoryPlan {
  int64_t max_context = 0;     // KV cache positions the plan was sized for (--ctx)
  int64_t prefill_chunk = 0;   // tokens per prefill submit; programs are planned for this many rows
  int64_t kv_layers = 0;
  int64_t kv_width = 0;        // cached values per token per layer, stored f16
  uint64_t arena_bytes = 0;    // main program activations
  uint64_t mtp_arena_bytes = 0;
  uint64_t weight_bytes = 0;   // all tensor blobs
  uint64_t kv_bytes() const { return static_cast<uint64_t>(max_context * kv_layers * kv_width) * 2; }
};

struct Manifest {
  std::string model_name;
  std::string config_json;            // the checkpoint's config.json, verbatim
  std::string tokenizer_json;         // empty when the checkpoint had none
  std::string tokenizer_config_json;  // idem
  std::string weights_requested;      // the --weights choice
  std::vector<TensorEntry> tensors;
  Program main;
  Program mtp;                        // no ops when the model has no MTP layer
  std::vector<double> rope_freqs;
  double rope_magnitude = 1.0;
  MemoryPlan memory;

  bool has_tokenizer() const { return !tokenizer_json.empty(); }
};

json_fields::Json manifest_to_json(const Manifest& m);
// Parses and validates the structure; blob ranges are checked against the file by LoadedPlan.
Result<Manifest> manifest_from_json(const json_fields::Json& j);
// Structural checks shared by the writer (before writing) and the loader.
Status validate_manifest(const Manifest& m);

}  // namespace r1vk::plan
