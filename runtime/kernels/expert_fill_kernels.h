// The in-step copy of the device expert cache (docs/offload.md, "In-step copies"): recorded
// between a moe_route op and its moe_experts op, it copies the experts the step's rows chose
// that are still in host memory into free cache slots and points their address-table entries
// there, so the expert GEMMs that follow read them from the device. Two dispatches with
// barriers: expert_claim.comp (one workgroup: distinct chosen experts, slot claims, table
// entries, log) and expert_fill.comp (the copies, spread over workgroups). The buffers and
// their layout belong to exec::ExpertCache, which fills the ring of free slots between steps
// and reads the log.
#pragma once

#include <cstdint>

#include "base/status.h"
#include "kernels/pipeline_set.h"
#include "kernels/views.h"
#include "vulkan/command_buffer.h"

namespace r1vk::kernels {

// Device layout shared with the shaders. One expert of an op: its four parts (gate_up data,
// gate_up scales, down data, down scales) in host memory, their sizes, and their offsets in a slot.
struct FillDesc {
  uint64_t src[4];
  uint32_t size[4];
  uint32_t dst_offset[4];
  uint32_t unit;  // the cache's unit index, logged with the slot
  uint32_t pad[3];
};
static_assert(sizeof(FillDesc) == 80);

// The state header; ring[cap] (FillRingEntry), log[cap] (u32 unit, u32 slot) and jobs[cap]
// (u32 expert, 0, u64 slot address) follow at the addresses passed in ExpertFillArgs.
struct FillStateHeader {
  uint32_t head, tail, log_count, cap;
  uint32_t job_count, pad[3];
};
static_assert(sizeof(FillStateHeader) == 32);
struct FillRingEntry {
  uint64_t base;  // the slot's device address
  uint32_t slot, pad;
};
static_assert(sizeof(FillRingEntry) == 16);

struct ExpertFillArgs {
  ActView ids;                // [T, top_k] i32 expert ids (moe_route's output)
  uint32_t top_k = 0, experts = 0;
  VkDeviceAddress descs = 0;  // FillDesc[experts] of the op
  VkDeviceAddress flags = 0;  // u32[experts]: 1 = in host memory and may be copied
  VkDeviceAddress table = 0;  // the op's ExpertAddresses table
  VkDeviceAddress state = 0, ring = 0, log = 0, jobs = 0;
  uint32_t max_jobs = 0;      // experts one step of this op can claim at most (<= cap)
  uint64_t max_expert_bytes = 0;  // the largest expert's parts, summed (sizes the copy grid)
};

class ExpertFillKernels {
 public:
  explicit ExpertFillKernels(PipelineSet& pipelines) : pipelines_(pipelines) {}
  // Records claim, barrier, fill, barrier. Errors: kInvalidArgument for missing addresses, no
  // experts or more than 1024 (the claim shader's shared array), a zero max_jobs.
  Status record(vk::CommandBuffer& cmd, const ExpertFillArgs& args, const StepView& step) const;

 private:
  PipelineSet& pipelines_;
};

}  // namespace r1vk::kernels
