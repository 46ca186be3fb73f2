// --gpu-memory, --expert-cache and --calibrate (alias --expert-counts), shared by the commands
// that load a model (run, chat, serve, bench, logits): the device-memory budget the load places
// weights under, the device expert cache's slots, and the calibration file that ranks routed
// experts hot-first and seeds the cache (docs/offload.md).
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

#include "base/status.h"
#include "exec/model.h"
#include "vulkan/context.h"

namespace r1vk::cli {

struct OffloadFlags {
  std::string gpu_memory;     // SIZE; empty: automatic
  std::string expert_counts;  // calibration file; empty: rank by index
  std::string expert_cache;   // slots: a count or "all"; empty: no cache
  bool in_step_copies = false;  // the cache's in-step copies (ExpertCacheOptions::in_step_copies)

  // Sets the context's device-memory budget (which the load plans with and every later
  // allocation respects), the load's calibration file and expert cache slots.
  Status apply(vk::ContextOptions& context, exec::ModelOptions& model) const;
  // Pipeline stages plan no budget of their own yet: an error when either flag is given with
  // --devices/--pipeline (`pipeline_active`).
  Status refuse_for_pipeline(bool pipeline_active) const;
};

void add_offload_options(CLI::App& sub, OffloadFlags& flags);

// "24G", "24GiB", "1.5G", "512M", "800K" (binary units, any case; "iB" or "B" after the unit is
// optional) or a whole number of bytes: decimal digits, a decimal fraction only with a unit
// (rounded down to whole bytes), 1 to 2^64 - 1 bytes. Hex, exponents, signs and blanks are
// refused. Errors name the flag, the text and what is wrong.
Result<uint64_t> parse_memory_size(const std::string& text, const std::string& flag);

// --expert-cache: "all" (ModelOptions::kExpertCacheAll) or a decimal count >= 0 up to 2^63 - 1,
// which the load clamps to the experts left in host memory. Errors name the text.
Result<int64_t> parse_expert_cache_slots(const std::string& text);

}  // namespace r1vk::cli
