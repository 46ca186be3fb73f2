#include "offload_flags.h"

#include <cctype>
#include <cmath>
#include <cstdlib>
#include <limits>

namespace r1vk::cli {

Result<uint64_t> parse_memory_size(const std::string& text, const std::string& flag) {
  auto bad = [&](const std::string& why) {
    return make_error(ErrorCode::kInvalidArgument, flag + " '" + text + "' is not a size: " + why +
                                                       " (use bytes or a decimal number with K, M, G or T, binary units: "
                                                       "24G, 1.5G, 512M, 800K)");
  };
  // DIGITS [. DIGITS] [K|M|G|T] [i] [B], case-insensitive; nothing else (strtod would also take
  // hex, exponents, "inf" and leading blanks or signs, none of which the documented forms use).
  size_t i = 0;
  auto digits = [&] {
    const size_t from = i;
    while (i < text.size() && std::isdigit(static_cast<unsigned char>(text[i]))) ++i;
    return text.substr(from, i - from);
  };
  const std::string whole = digits();
  if (whole == "0" && i < text.size() && (text[i] == 'x' || text[i] == 'X')) {
    return bad("hexadecimal is not accepted");
  }
  std::string fraction;
  if (i < text.size() && text[i] == '.') {
    ++i;
    fraction = digits();
  }
  if (whole.empty() || (i > whole.size() && fraction.empty())) return bad("not a decimal number");
  std::string unit = text.substr(i);
  for (char& c : unit) c = static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (unit.size() == 3 && unit.substr(1) == "IB") {
    unit.resize(1);
  } else if (!unit.empty() && unit.back() == 'B') {
    unit.pop_back();
  }
  static const std::string kUnits = "KMGT";
  int shift = 0;
  if (!unit.empty()) {
    const size_t u = kUnits.find(unit);
    if (unit.size() != 1 || u == std::string::npos) return bad("unknown unit");
    shift = 10 * static_cast<int>(u + 1);
  }
  const bool fractional = fraction.find_first_not_of('0') != std::string::npos;
  if (fractional && shift == 0) return bad("a fraction needs a unit");

  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  uint64_t bytes = 0;
  for (char c : whole) {
    const auto d = static_cast<uint64_t>(c - '0');
    if (bytes > (kMax - d) / 10) return bad("larger than 2^64 - 1 bytes");
    bytes = bytes * 10 + d;
  }
  if (bytes > (kMax >> shift)) return bad("larger than 2^64 - 1 bytes");
  bytes <<= shift;
  if (fractional) {
    // 19 digits are exact in a long double's 64-bit mantissa, and a fraction whose bytes are whole
    // (0.5G) divides exactly, so floor() never loses a byte; further digits are below a byte.
    const std::string f = fraction.substr(0, 19);
    long double denominator = 1;
    for (size_t k = 0; k < f.size(); ++k) denominator *= 10;  // exact up to 10^19
    const long double share = std::stold(f) / denominator;
    const auto part = static_cast<uint64_t>(std::floor(std::ldexp(share, shift)));
    if (bytes > kMax - part) return bad("larger than 2^64 - 1 bytes");
    bytes += part;
  }
  if (bytes == 0) return bad("at least 1 byte");
  return bytes;
}

Result<int64_t> parse_expert_cache_slots(const std::string& text) {
  if (text == "all") return exec::ModelOptions::kExpertCacheAll;
  auto bad = [&](const std::string& why) {
    return make_error(ErrorCode::kInvalidArgument, "--expert-cache '" + text + "' is not a slot count: " + why);
  };
  if (text.empty() || text.find_first_not_of("0123456789") != std::string::npos) {
    return bad("use a whole number >= 0 or 'all'");
  }
  // Any count is accepted and the load clamps it to the experts in host memory; past int64 it
  // could not be a count of anything.
  int64_t n = 0;
  for (char c : text) {
    const int64_t d = c - '0';
    if (n > (std::numeric_limits<int64_t>::max() - d) / 10) {
      return bad("larger than " + std::to_string(std::numeric_limits<int64_t>::max()) + " (use 'all' for every expert)");
    }
    n = n * 10 + d;
  }
  return n;
}

Status OffloadFlags::apply(vk::ContextOptions& context, exec::ModelOptions& model) const {
  if (!gpu_memory.empty()) {
    R1VK_ASSIGN_OR_RETURN(context.allocator.budget_bytes, parse_memory_size(gpu_memory, "--gpu-memory"));
  }
  model.expert_counts_path = expert_counts;
  if (!expert_cache.empty()) {
    R1VK_ASSIGN_OR_RETURN(model.expert_cache_slots, parse_expert_cache_slots(expert_cache));
  }
  if (in_step_copies && (expert_cache.empty() || model.expert_cache_slots == 0))
    return make_error(ErrorCode::kInvalidArgument, "--in-step-copies needs an expert cache (--expert-cache N > 0 or all)");
  model.expert_cache.in_step_copies = in_step_copies;
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
                 "into the slots asynchronously (on a transfer queue when the device has one), following the routing "
                 "(default: none, the placement is fixed at load)");
  sub.add_flag("--in-step-copies", f.in_step_copies,
               "With --expert-cache: a kernel after each router copies the step's chosen host experts into free "
               "slots before the expert GEMMs read them (the rest are read in place); between steps the coldest "
               "slots are freed for it. The cache then starts empty, or with --calibrate's hottest experts");
}

Status OffloadFlags::refuse_for_pipeline(bool pipeline_active) const {
  if (!pipeline_active || (gpu_memory.empty() && expert_counts.empty() && expert_cache.empty() && !in_step_copies))
    return ok_status();
  return make_error(ErrorCode::kInvalidArgument,
                    "--gpu-memory, --calibrate and --expert-cache do not apply to pipeline stages yet (--devices/--pipeline)");
}

}  // namespace r1vk::cli
