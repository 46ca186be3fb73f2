// A plan loaded onto one device: weights uploaded, rotary table and MoE expert tables built,
// kernels ready. Sessions (each with its own KV cache) run on it; the model itself is read-only
// after load, so sessions can interleave (the routers' use counters only accumulate).
//
// Under a device-memory budget smaller than the plan, the load places the non-expert weights and
// tables, keeps room for the caller's KV pools and activations, fills what is left with routed
// experts hot-first and puts the rest in host memory, read in place by the expert kernels
// (docs/offload.md).
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "exec/expert_cache.h"
#include "exec/expert_placement.h"
#include "exec/model_weights.h"
#include "exec/stage.h"
#include "kernels/attention_kernels.h"
#include "kernels/linear_kernels.h"
#include "kernels/pipeline_set.h"
#include "plan/loaded_plan.h"
#include "vulkan/context.h"

namespace r1vk::exec {

class Model;

struct ModelOptions {
  // Context length of sessions; 0 = the plan's max_context. May not exceed it.
  int64_t context = 0;
  // Called after each uploaded chunk (bytes of tensors uploaded, their total).
  std::function<void(uint64_t done, uint64_t total)> progress;
  // Polled after each uploaded chunk; true stops the load with ErrorCode::kCancelled.
  std::function<bool()> cancelled;
  // Weights go up in pieces of at most this many bytes (ModelWeights::upload): the plan's
  // resident pages, and a discrete card's staging buffer, stay at one piece.
  uint64_t upload_chunk_bytes = 64ull << 20;
  // Device memory (bytes) the model plans with; 0: the context allocator's budget when it has
  // one, else default_device_memory(). Below what the model needs without its routed experts,
  // the load fails with ErrorCode::kOutOfBudget naming that size (with the automatic default it
  // puts every routed expert in host memory instead).
  uint64_t gpu_memory = 0;
  // Device bytes kept free for what callers allocate after the load (KV pools, activations),
  // asked of the model before its weights are uploaded; empty: one batch-of-one executor at the
  // model's context (executor_device_bytes).
  std::function<uint64_t(const Model&)> reserve;
  // Expert-counts file (save_expert_counts) that ranks routed experts hot-first and seeds the
  // expert cache's scores; empty: by index.
  std::string expert_counts_path;
  // Device expert cache slots (exec/expert_cache.h), each the size of the largest routed expert,
  // taken from the device memory left for routed experts before the resident ones are placed:
  // 0: no cache (placement fixed at load); kExpertCacheAll: all of that memory is slots (no
  // resident experts). Clamped to the experts left in host memory. Past what an explicit budget
  // leaves for experts the load fails with ErrorCode::kOutOfBudget.
  int64_t expert_cache_slots = 0;
  static constexpr int64_t kExpertCacheAll = -1;
  // Swap policy of the cache (slots and slot_bytes are the load's).
  ExpertCacheOptions expert_cache;
  // A pipeline stage: only these ops of the main program run here, so only their tensors are
  // uploaded and their MoE expert tables built (the MTP program's go with the last stage).
  OpRange stage;
};

// The automatic device-memory figure: the device-local heaps' budget minus their usage from
// VK_EXT_memory_budget when the device has it, else the largest device-local heap less 10%
// (at least 256 MiB) for the driver and other processes.
uint64_t default_device_memory(const vk::DeviceCaps& caps);

// What the load decided (r1vk bench and info print it).
struct MemoryLayout {
  uint64_t budget = 0;            // device bytes planned with
  bool budget_automatic = false;  // from default_device_memory
  uint64_t fixed = 0;             // non-expert weights + tables + reserve
  uint64_t reserve = 0;           // of which kept for KV pools and activations
  uint64_t margin = 0;            // kept spare for allocator fragmentation (budgets past one block)
  ExpertPlacement experts;        // resident experts (on the device for good) and host ones
  uint32_t cache_slots = 0;       // device expert cache slots (0: no cache)
  uint64_t cache_slot_bytes = 0;  // bytes per slot
  uint64_t cache_bytes() const { return uint64_t{cache_slots} * cache_slot_bytes; }
};

class Model {
 public:
  static Result<std::unique_ptr<Model>> load(vk::Context& ctx, plan::LoadedPlan plan, const ModelOptions& options = {});

  vk::Context& context() const { return ctx_; }
  const plan::Manifest& manifest() const { return plan_.manifest(); }
  const ModelWeights& weights() const { return weights_; }
  kernels::LinearKernels& linear() { return *linear_; }
  kernels::AttentionKernels& attention() { return *attention_; }
  const kernels::RopeTable& rope() const { return rope_; }
  int64_t context_length() const { return context_; }
  int64_t vocab_size() const;
  // The main program's ops this model runs (ModelOptions::stage clamped to the program).
  OpRange stage() const { return stage_; }
  // Expert address table of the moe_experts op at `op_index` of `program` (0 = main, 1 = mtp).
  VkDeviceAddress expert_table(int program, size_t op_index) const;
  // Use counters (u32 per expert) the moe_route op at `op_index` increments for every row's
  // chosen experts; 0 when the op feeds no moe_experts op.
  VkDeviceAddress expert_counters(int program, size_t route_op_index) const;
  // The counters of every moe_experts op since the load or the last reset (waits for the
  // device; call between steps).
  Result<ExpertCounts> read_expert_counts();
  // Zeroes the counters (and the expert cache's stats, after accounting what ran).
  Status reset_expert_counts();
  // The device expert cache; null when the load made none (ModelOptions::expert_cache_slots).
  ExpertCache* expert_cache() const { return cache_.get(); }
  // Every executor calls this before submitting a step: the expert cache's round (never waits).
  Status before_step() { return cache_ ? cache_->before_step() : ok_status(); }
  // ... and this with the step's timeline value once it is submitted.
  void step_submitted(uint64_t value) {
    if (cache_) cache_->step_submitted(value);
  }
  // Recorded last in every step's command buffer: the expert cache's counter snapshot.
  Status record_step_end(vk::CommandBuffer& cmd) const { return cache_ ? cache_->record_step_end(cmd) : ok_status(); }
  // Recorded between the router and the GEMMs of the moe_experts op `op_index` of `program`:
  // the expert cache's in-step copy of the chosen host experts (ExpertCacheOptions::
  // in_step_copies); records nothing otherwise.
  Status record_expert_fill(vk::CommandBuffer& cmd, int program, size_t op_index, const kernels::ActView& ids,
                            const kernels::StepView& step) const {
    return cache_ ? cache_->record_in_step_copy(cmd, program, op_index, ids, step) : ok_status();
  }

  const MemoryLayout& memory_layout() const { return layout_; }
  // Routed experts in hot-first order, as the load ranked them.
  const std::vector<ExpertUnit>& ranked_experts() const { return ranked_; }

 private:
  Model(vk::Context& ctx, plan::LoadedPlan plan) : ctx_(ctx), plan_(std::move(plan)), pipelines_(ctx) {}
  // Places routed experts under the budget; `needed` (empty: all) is the stage's tensor mask.
  Status plan_memory(const ModelOptions& options, const std::vector<bool>& needed);
  Status build_rope_table();
  Status build_expert_tables();
  Status build_expert_cache(const ExpertCacheOptions& options);
  uint64_t table_bytes() const;

  vk::Context& ctx_;
  plan::LoadedPlan plan_;
  ModelWeights weights_;
  kernels::PipelineSet pipelines_;
  std::unique_ptr<kernels::LinearKernels> linear_;
  std::unique_ptr<kernels::AttentionKernels> attention_;
  vk::Buffer rope_buffer_;
  kernels::RopeTable rope_;
  int64_t context_ = 0;
  OpRange stage_;
  std::vector<vk::Buffer> expert_buffers_;
  std::vector<std::pair<std::pair<int, size_t>, VkDeviceAddress>> expert_tables_;
  // One u32 per expert of every moe_experts op, in table order.
  struct CounterRange {
    int program = 0;
    size_t route_op = 0, experts_op = 0;
    uint64_t offset = 0;  // in u32
    uint32_t experts = 0;
  };
  std::vector<CounterRange> counter_ranges_;
  vk::Buffer counters_;
  MemoryLayout layout_;
  std::vector<ExpertUnit> ranked_;
  ExpertCounts calibration_;  // the expert-counts file's counts (empty without one)
  std::unique_ptr<ExpertCache> cache_;
};

}  // namespace r1vk::exec
