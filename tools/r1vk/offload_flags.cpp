#include "offload_flags.h"

#include <cctype>
#include <cmath>
#include <cstdlib>

namespace r1vk::cli {

Result<uint64_t> parse_memory_size(const std::string& text, const std::string& flag) {
  auto bad = [&] {
    return make_error(ErrorCode::kInvalidArgument,
                      flag + " '" + text + "' is not a size: use bytes or a number with K, M, G or T (binary units), e.g. 24G");
  };
  if (text.empty()) return bad();
  char* end = nullptr;
  const double v = std::strtod(text.c_str(), &end);
  if (end == text.c_str() || !std::isfinite(v) || v <= 0) return bad();
  std::string unit(end);
  for (char& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (unit.size() >= 2 && unit.substr(unit.size() - 2) == "IB") {
    unit.resize(unit.size() - 2);
  } else if (!unit.empty() && unit.back() == 'B') {
    unit.pop_back();
  }
  const std::string units = "KMGT";
  double scale = 1;
  if (!unit.empty()) {
    const size_t i = units.find(unit);
    if (unit.size() != 1 || i == std::string::npos) return bad();
    scale = std::ldexp(1.0, 10 * static_cast<int>(i + 1));
  }
  const double bytes = v * scale;
  if (bytes < 1 || bytes > 1.8e19) return bad();
  return static_cast<uint64_t>(bytes);
}

Status OffloadFlags::apply(vk::ContextOptions& context, exec::ModelOptions& model) const {
  if (!gpu_memory.empty()) {
    R1VK_ASSIGN_OR_RETURN(context.allocator.budget_bytes, parse_memory_size(gpu_memory, "--gpu-memory"));
  }
  model.expert_counts_path = expert_counts;
  if (expert_cache == "all") {
    model.expert_cache_slots = exec::ModelOptions::kExpertCacheAll;
  } else if (!expert_cache.empty()) {
    char* end = nullptr;
    const long long n = std::strtoll(expert_cache.c_str(), &end, 10);
    if (end == expert_cache.c_str() || *end != '\0' || n < 0 || n > (1ll << 31)) {
      return make_error(ErrorCode::kInvalidArgument,
                        "--expert-cache '" + expert_cache + "' is not a slot count: use a number >= 0 or 'all'");
    }
    model.expert_cache_slots = n;
  }
  return ok_status();
}

void add_offload_options(CLI::App& sub, OffloadFlags& f) {
  sub.add_option("--gpu-memory", f.gpu_memory,
                 "Device memory r1vk may use (e.g. 22G): non-expert weights, KV cache and activations first, then as "
                 "many routed experts as fit; the rest stay in host memory, read over the bus (default: the device's "
                 "free memory)");
  sub.add_option("--calibrate,--expert-counts", f.expert_counts,
                 "Expert-counts file (r1vk bench --save-expert-counts) that ranks routed experts hot-first for "
                 "--gpu-memory and seeds the expert cache's ranking (default: by index)");
  sub.add_option("--expert-cache", f.expert_cache,
                 "Device expert cache: N slots (each the size of one routed expert) or 'all', taken from the device "
                 "memory --gpu-memory leaves for routed experts; between steps the hottest host experts are copied "
                 "into the slots asynchronously, following the routing (default: none, the placement is fixed at load)");
}

Status OffloadFlags::refuse_for_pipeline(bool pipeline_active) const {
  if (!pipeline_active || (gpu_memory.empty() && expert_counts.empty() && expert_cache.empty())) return ok_status();
  return make_error(ErrorCode::kInvalidArgument,
                    "--gpu-memory, --calibrate and --expert-cache do not apply to pipeline stages yet (--devices/--pipeline)");
}

}  // namespace r1vk::cli
