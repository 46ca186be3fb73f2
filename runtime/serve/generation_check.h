// Checks of the sampling and length options a client sends: the shared validator of runtime/api
// (api::validate_generation_options, the same rules and messages as run, chat and the C API):
// non-finite numbers are refused, temperature >= 0, top_p in (0, 1], max_tokens >= 1.
#pragma once

#include <cstdint>

#include "base/status.h"

namespace r1vk::serve {

// kInvalidArgument naming the first bad option (as the client spelled it).
Status check_generation_options(double temperature, double top_p, int64_t max_tokens);

}  // namespace r1vk::serve
