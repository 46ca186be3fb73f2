#include "serve/generation_check.h"

#include <cmath>

namespace r1vk::serve {

Status check_generation_options(double temperature, double top_p, int64_t max_tokens) {
  if (!std::isfinite(temperature) || temperature < 0.0) {
    return make_error(ErrorCode::kInvalidArgument, "temperature must be a finite number >= 0");
  }
  if (!std::isfinite(top_p) || !(top_p > 0.0 && top_p <= 1.0)) {
    return make_error(ErrorCode::kInvalidArgument, "top_p must be in (0, 1]");
  }
  if (max_tokens < 1) return make_error(ErrorCode::kInvalidArgument, "max_tokens must be at least 1");
  return ok_status();
}

}  // namespace r1vk::serve
