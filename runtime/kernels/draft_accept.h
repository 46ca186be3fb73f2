// The step between MTP passes when a step verifies several drafts per sequence
// (shaders/mtp_accept.comp, docs/speculative.md "Several drafts"): on the device, counts each
// sampled entry's accepted drafts and writes the next MTP pass's inputs (one row per entry) and
// the rows of every extra pass's step, so the whole step stays one submit.
#pragma once

#include <cstdint>

#include "base/status.h"
#include "kernels/pipeline_set.h"
#include "vulkan/command_buffer.h"

namespace r1vk::kernels {

struct DraftAcceptArgs {
  VkDeviceAddress step = 0;        // the main step (StepParams)
  VkDeviceAddress fed = 0;         // u32 [rows]: the main step's fed tokens
  VkDeviceAddress sampled = 0;     // u32 [samples]: the main sampler's tokens
  VkDeviceAddress drafts = 0;      // u32 [samples]: the first MTP pass's drafts
  VkDeviceAddress entries = 0;     // u32 [1 + 4 x max_entries]: count, then (s0, n, limit, slot) per entry
  VkDeviceAddress hidden = 0;      // f32 rows, hidden_stride apart: the first pass's normed output
  VkDeviceAddress hidden_out = 0;  // f32 [max_entries, cols]
  VkDeviceAddress tokens_out = 0;  // u32 [max_entries]
  VkDeviceAddress passes = 0;      // n_passes steps of pass_words words each
  uint32_t pass_words = 0;
  uint32_t n_passes = 0;
  uint32_t hidden_stride = 0;
  uint32_t cols = 0;
  uint32_t trash_slot = 0;         // the block-table row of the trash block
  uint32_t max_entries = 0;        // workgroups dispatched
  uint32_t force_accept = 0;       // testing only (BatchOptions::test_force_accept_draft); 0: exact rule
};

// Records one dispatch of mtp_accept (one workgroup per entry). Errors: a zero address or size,
// a loop the CPU driver would cut short.
Status record_draft_accept(vk::CommandBuffer& cmd, PipelineSet& pipelines, const DraftAcceptArgs& args);

}  // namespace r1vk::kernels
