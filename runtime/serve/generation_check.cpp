#include "serve/generation_check.h"

#include <cmath>

#include "api/generation_options.h"

namespace r1vk::serve {

Status check_generation_options(double temperature, double top_p, int64_t max_tokens) {
  // JSON numbers are doubles; a finite double past float's range would become infinite in the
  // sampler, so it is refused as the non-finite value it turns into.
  api::GenerationOptions o;
  o.sampling.temperature = static_cast<float>(temperature);
  o.sampling.top_p = static_cast<float>(top_p);
  o.max_tokens = max_tokens;
  return api::validate_generation_options(o);
}

}  // namespace r1vk::serve
