// Records a plan program into a command buffer: each op's values, tensors, cache layer and
// scratch resolved to device addresses and handed to its kernel, with a barrier between ops.
// Recorded once per executor bucket and program; StepParams on the device carry the per-step
// values (rows' positions and sequences, the block table, samples).
#pragma once

#include <cstdint>
#include <optional>
#include <vector>

#include "base/status.h"
#include "exec/model.h"
#include "kernels/views.h"
#include "vulkan/command_buffer.h"
#include "vulkan/query_pool.h"

namespace r1vk::exec {

struct ProgramBuffers {
  VkDeviceAddress arena = 0;              // the program's activation arena
  std::vector<VkDeviceAddress> kv_layers; // one block pool of [pool_rows, kv_width] f16 per cache layer
  VkDeviceAddress scratch = 0;            // program_scratch_bytes() bytes
  uint64_t scratch_size = 0;
  uint32_t block_tokens = 0;              // rows per KV block; 0: one contiguous [context] cache
  uint32_t pool_rows = 0;                 // rows per pool; 0: the context
  // Output head on the sampled rows only (a step that keeps no logits needs just the rows its
  // sampler reads; a prefill chunk of T rows otherwise multiplies all T by the vocab-sized head).
  // With head_rows != 0, the linear op writing the program's logits value first gathers the
  // step's sampled rows of its input into head_rows ([head_step.max_tokens, input cols] f32),
  // then runs on them under head_step, a step whose rows are the samples (n_tokens = n_samples,
  // sample i at row i): logits rows 0..n_samples-1 hold the samples' logits, in order, and the
  // sampler must then read head_step too.
  VkDeviceAddress head_rows = 0;
  kernels::StepView head_step;
  size_t head_op = 0;  // compactable_head_op() of the program, when head_rows != 0
  // One value of the program read in place from another arena instead of its own slot (the MTP
  // program's input hidden state, read where the main program left it, with the same width):
  // refs to value `external_value` (>= 0) resolve to external_base + the value's columns.
  int32_t external_value = -1;
  VkDeviceAddress external_base = 0;
  // A value read after the program (the MTP program's normed output, the next MTP pass's input)
  // that an RMSNorm writing it must not be folded away for; -1: none.
  int32_t keep_value = -1;
  // Fold RMSNorms and SwiGLUs into the linear ops that read them (exec/norm_fusion.h), in steps
  // of at most 16 rows (record_program: a GEMM would recompute them per block of rows).
  bool fuse_norms = true;
};

// The op that writes the program's logits value when it is a linear op that can run on the
// gathered sampled rows (not accumulating into the logits); nullopt otherwise.
std::optional<size_t> compactable_head_op(const plan::Program& program);

enum class ProgramId { kMain = 0, kMtp = 1 };

// Scratch the program's kernels need for chunks of up to max_tokens rows.
uint64_t program_scratch_bytes(const Model& model, ProgramId id, uint32_t max_tokens);

// With `timestamps`, writes a timestamp before the first op and after each op (ops + 1 queries).
// `range` limits the ops recorded (a pipeline stage's; clamped to the program).
Status record_program(Model& model, ProgramId id, const ProgramBuffers& buffers, const kernels::StepView& step,
                      vk::CommandBuffer& cmd, const vk::TimestampQueryPool* timestamps = nullptr, OpRange range = {});

// Address and stride of an ActRef inside an arena.
kernels::ActView act_view(const plan::Program& program, const plan::ActRef& ref, VkDeviceAddress arena);

}  // namespace r1vk::exec
