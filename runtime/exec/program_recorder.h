// Records a plan program into a command buffer: each op's values, tensors, cache layer and
// scratch resolved to device addresses and handed to its kernel, with a barrier between ops.
// Recorded once per session and program; StepParams on the device carry the per-step values.
#pragma once

#include <cstdint>
#include <vector>

#include "base/status.h"
#include "exec/model.h"
#include "kernels/views.h"
#include "vulkan/command_buffer.h"
#include "vulkan/query_pool.h"

namespace r1vk::exec {

struct ProgramBuffers {
  VkDeviceAddress arena = 0;              // the program's activation arena
  std::vector<VkDeviceAddress> kv_layers; // one [context, kv_width] f16 slice per cache layer
  VkDeviceAddress scratch = 0;            // program_scratch_bytes() bytes
  uint64_t scratch_size = 0;
};

enum class ProgramId { kMain = 0, kMtp = 1 };

// Scratch the program's kernels need for chunks of up to max_tokens rows.
uint64_t program_scratch_bytes(const Model& model, ProgramId id, uint32_t max_tokens);

// With `timestamps`, writes a timestamp before the first op and after each op (ops + 1 queries).
Status record_program(Model& model, ProgramId id, const ProgramBuffers& buffers, const kernels::StepView& step,
                      vk::CommandBuffer& cmd, const vk::TimestampQueryPool* timestamps = nullptr);

// Address and stride of an ActRef inside an arena.
kernels::ActView act_view(const plan::Program& program, const plan::ActRef& ref, VkDeviceAddress arena);

}  // namespace r1vk::exec
