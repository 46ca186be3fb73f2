// The one check of sampling and generation options, shared by `r1vk run`, `r1vk chat`, the C API
// and the HTTP server, so every front end accepts and refuses the same values with the same
// message. Names in the messages are the option's plain name ("temperature", "top_p",
// "max_tokens"); front ends may add their own spelling of it as context.
#pragma once

#include "api/generation.h"
#include "base/status.h"
#include "exec/session.h"

namespace r1vk::api {

// temperature: finite and >= 0 (0 = greedy); top_p: finite, in (0, 1]; top_k and seed: any
// value (top_k 0 = off). NaN and infinities are refused. ErrorCode::kInvalidArgument.
Status validate_sampling(const exec::Sampling& sampling);

// validate_sampling, and max_tokens >= 1.
Status validate_generation_options(const GenerationOptions& options);

}  // namespace r1vk::api
