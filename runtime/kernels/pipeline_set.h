// Pipelines of one device, created on first use per (variant, specialization constants) and
// kept for the life of the set. Shared by every kernel family so each pipeline exists once.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "vulkan/compute_pipeline.h"
#include "vulkan/context.h"

namespace r1vk::kernels {

class PipelineSet {
 public:
  explicit PipelineSet(vk::Context& ctx) : ctx_(ctx) {}

  // storage_bindings > 0: the variant binds that many storage buffers by push descriptors, then
  // texel_bindings uniform texel buffers.
  Result<const vk::ComputePipeline*> get(const std::string& variant, const std::vector<uint32_t>& spec_constants,
                                         uint32_t push_constant_size, uint32_t storage_bindings = 0,
                                         uint32_t texel_bindings = 0);
  vk::Context& context() const { return ctx_; }

 private:
  vk::Context& ctx_;
  std::map<std::string, vk::ComputePipeline> pipelines_;
};

}  // namespace r1vk::kernels
