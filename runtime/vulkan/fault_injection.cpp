#include "vulkan/fault_injection.h"

#include <array>
#include <charconv>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <mutex>
#include <string>

namespace r1vk::vk::fault {
namespace {

constexpr size_t kSites = 3;

struct State {
  std::mutex mutex;
  std::string spec;  // the R1VK_FAULT value the counters belong to
  std::array<uint64_t, kSites> fail_at{};  // 0: never
  std::array<uint64_t, kSites> count{};
  bool lost = false;
};

State& state() {
  static State s;
  return s;
}

Status parse_into(std::string_view spec, std::array<uint64_t, kSites>& fail_at) {
  fail_at = {};
  while (!spec.empty()) {
    const size_t comma = spec.find(',');
    const std::string_view item = spec.substr(0, comma);
    spec = comma == std::string_view::npos ? std::string_view() : spec.substr(comma + 1);
    const size_t colon = item.find(':');
    const std::string_view site = item.substr(0, colon);
    size_t index = kSites;
    if (site == "alloc") index = 0;
    if (site == "submit") index = 1;
    if (site == "wait") index = 2;
    uint64_t n = 0;
    const std::string_view number = colon == std::string_view::npos ? std::string_view() : item.substr(colon + 1);
    const auto [end, ec] = std::from_chars(number.data(), number.data() + number.size(), n);
    if (index == kSites || ec != std::errc() || end != number.data() + number.size() || n == 0) {
      return make_error(ErrorCode::kInvalidArgument, "R1VK_FAULT: \"" + std::string(item) +
                                                         "\" is not SITE:N (SITE alloc, submit or wait; N >= 1)");
    }
    fail_at[index] = n;
  }
  return ok_status();
}

// The spec in force: R1VK_FAULT, else the first line of the file R1VK_FAULT_FILE names.
std::string current_spec() {
  if (const char* env = std::getenv("R1VK_FAULT")) return env;
  const char* file = std::getenv("R1VK_FAULT_FILE");
  if (file == nullptr) return {};
  std::ifstream in(file);
  std::string line;
  std::getline(in, line);
  while (!line.empty() && (line.back() == '\r' || line.back() == ' ')) line.pop_back();
  return line;
}

// Follows the spec: a new value resets the counters and the lost state. A bad spec is reported
// and ignored (faults are a test tool, not a feature).
void configure_from_env_locked(State& s) {
  const std::string spec = current_spec();
  if (spec == s.spec) return;
  s.spec = spec;
  s.count = {};
  s.lost = false;
  if (Status st = parse_into(spec, s.fail_at); !st.ok()) std::fprintf(stderr, "r1vk: %s\n", st.error().message().c_str());
}

}  // namespace

VkResult check(Site site) {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mutex);
  configure_from_env_locked(s);
  const auto i = static_cast<size_t>(site);
  const uint64_t n = ++s.count[i];
  if (site != Site::kAllocate && s.lost) return VK_ERROR_DEVICE_LOST;
  if (s.fail_at[i] == 0 || n != s.fail_at[i]) return VK_SUCCESS;
  if (site == Site::kAllocate) return VK_ERROR_OUT_OF_DEVICE_MEMORY;
  s.lost = true;
  return VK_ERROR_DEVICE_LOST;
}

Status validate_spec(std::string_view spec) {
  std::array<uint64_t, kSites> fail_at{};
  return parse_into(spec, fail_at);
}

}  // namespace r1vk::vk::fault
