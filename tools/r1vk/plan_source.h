// MODEL arguments: a plan file is opened as is; a checkpoint directory is compiled once into a
// cache (keyed by its files' sizes and times and the compile options) and the cached plan used.
#pragma once

#include <cstdint>
#include <string>

#include "base/status.h"
#include "plan/loaded_plan.h"

namespace r1vk::cli {

struct PlanSourceOptions {
  std::string weights = "auto";
  int64_t context = 0;  // 0: min(4096, the model's positions)
  int64_t prefill_chunk = 0;  // 0: chosen from the model (compiler/prefill_chunk.h)
};

// The cache directory: $R1VK_CACHE_DIR, else $XDG_CACHE_HOME/r1vk, else ~/.cache/r1vk.
std::string plan_cache_dir();

Result<plan::LoadedPlan> open_model(const std::string& model, const PlanSourceOptions& options);

// The PlanSourceOptions::context for a command that needs `needed` positions of a checkpoint
// compiled on the fly: 0 (the default, one cached plan for every such call) when the default
// context holds it, else the next power of two. The context is part of the cache key, so
// deriving it from a token count or a flag would compile (and store) a whole plan per value: at
// R1 scale hours and hundreds of GB each. The caller still checks what the plan holds.
int64_t cached_context_for(int64_t needed);

}  // namespace r1vk::cli
