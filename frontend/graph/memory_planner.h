// Places every activation value of a program in one arena: values whose live ranges (first to
// last op that touches them) do not overlap share bytes. Program inputs and outputs (tokens,
// hidden, logits) stay live for the whole program.
#pragma once

#include <cstdint>

#include "plan/program.h"

namespace r1vk {

inline constexpr uint64_t kArenaAlignment = 256;  // >= every device's minStorageBufferOffsetAlignment

// Sets Value::offset for rows = max_tokens and returns the arena size in bytes.
uint64_t plan_memory(plan::Program& program, int64_t max_tokens);

}  // namespace r1vk
