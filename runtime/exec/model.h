// A plan loaded onto one device: weights uploaded, rotary table and MoE expert tables built,
// kernels ready. Sessions (each with its own KV cache) run on it; the model itself is read-only
// after load, so sessions can interleave.
#pragma once

#include <functional>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "exec/model_weights.h"
#include "exec/stage.h"
#include "kernels/attention_kernels.h"
#include "kernels/linear_kernels.h"
#include "kernels/pipeline_set.h"
#include "plan/loaded_plan.h"
#include "vulkan/context.h"

namespace r1vk::exec {

struct ModelOptions {
  // Context length of sessions; 0 = the plan's max_context. May not exceed it.
  int64_t context = 0;
  std::function<void(uint64_t done, uint64_t total)> progress;
  // Polled after each uploaded tensor; true stops the load with ErrorCode::kCancelled.
  std::function<bool()> cancelled;
  // A pipeline stage: only these ops of the main program run here, so only their tensors are
  // uploaded and their MoE expert tables built (the MTP program's go with the last stage).
  OpRange stage;
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

 private:
  Model(vk::Context& ctx, plan::LoadedPlan plan) : ctx_(ctx), plan_(std::move(plan)), pipelines_(ctx) {}
  Status build_rope_table();
  Status build_expert_tables();

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
};

}  // namespace r1vk::exec
