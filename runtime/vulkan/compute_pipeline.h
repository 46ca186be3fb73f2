// Compute VkPipeline + its layout (RAII) built from embedded SPIR-V. Kernels take all buffers as
// device addresses in push constants, so the layout has no descriptor sets, only a push range.
#pragma once

#include <vulkan/vulkan.h>

#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "vulkan/device.h"

namespace r1vk::vk {

class PipelineCache;

struct ComputePipelineDesc {
  std::string name;                     // for error messages
  std::span<const uint32_t> spirv;
  std::vector<uint32_t> spec_constants;  // constant_id i gets spec_constants[i] (32-bit each)
  uint32_t push_constant_size = 0;
  uint32_t required_subgroup_size = 0;  // 0: driver's choice; else needs subgroupSizeControl
  // > 0: set 0 holds this many storage buffers (bindings 0..n-1), pushed per dispatch with
  // VK_KHR_push_descriptor (descriptor-bound kernels on CPU drivers, docs/decisions.md D3).
  uint32_t storage_bindings = 0;
  // Then this many uniform texel buffers (bindings n..n+t-1), pushed the same way: on llvmpipe a
  // texel fetch is a gather, not the per-lane loop of a storage-buffer load (docs/linear_kernels.md).
  uint32_t texel_bindings = 0;
};

class ComputePipeline {
 public:
  static Result<ComputePipeline> create(const Device& device, const PipelineCache* cache, const ComputePipelineDesc& desc);

  ComputePipeline() = default;
  ComputePipeline(ComputePipeline&& other) noexcept;
  ComputePipeline& operator=(ComputePipeline&& other) noexcept;
  ComputePipeline(const ComputePipeline&) = delete;
  ComputePipeline& operator=(const ComputePipeline&) = delete;
  ~ComputePipeline();

  VkPipeline handle() const { return pipeline_; }
  VkPipelineLayout layout() const { return layout_; }
  uint32_t push_constant_size() const { return push_size_; }
  bool uses_descriptors() const { return set_layout_ != VK_NULL_HANDLE; }
  const std::string& name() const { return name_; }

 private:
  void reset();
  VkDevice device_ = VK_NULL_HANDLE;
  VkPipelineLayout layout_ = VK_NULL_HANDLE;
  VkDescriptorSetLayout set_layout_ = VK_NULL_HANDLE;
  VkPipeline pipeline_ = VK_NULL_HANDLE;
  uint32_t push_size_ = 0;
  std::string name_;
};

}  // namespace r1vk::vk
