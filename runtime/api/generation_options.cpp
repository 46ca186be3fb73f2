#include "api/generation_options.h"

#include <cmath>
#include <cstdio>
#include <string>

namespace r1vk::api {
namespace {

std::string show(float v) {
  if (std::isnan(v)) return "nan";
  if (std::isinf(v)) return v > 0 ? "inf" : "-inf";
  char buf[32];
  std::snprintf(buf, sizeof buf, "%g", static_cast<double>(v));
  return buf;
}

}  // namespace

Status validate_sampling(const exec::Sampling& s) {
  if (!std::isfinite(s.temperature) || s.temperature < 0.0f) {
    return make_error(ErrorCode::kInvalidArgument,
                      "temperature must be a finite number >= 0 (0: greedy), got " + show(s.temperature));
  }
  if (!std::isfinite(s.top_p) || !(s.top_p > 0.0f && s.top_p <= 1.0f)) {
    return make_error(ErrorCode::kInvalidArgument, "top_p must be in (0, 1] (1: off), got " + show(s.top_p));
  }
  return ok_status();
}

Status validate_generation_options(const GenerationOptions& o) {
  R1VK_TRY(validate_sampling(o.sampling));
  if (o.max_tokens < 1) {
    return make_error(ErrorCode::kInvalidArgument, "max_tokens must be at least 1, got " + std::to_string(o.max_tokens));
  }
  return ok_status();
}

}  // namespace r1vk::api
