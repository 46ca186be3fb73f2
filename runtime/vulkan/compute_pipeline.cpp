#include "vulkan/compute_pipeline.h"

#include <utility>

#include "vulkan/pipeline_cache.h"
#include "vulkan/vk_check.h"

namespace r1vk::vk {

Result<ComputePipeline> ComputePipeline::create(const Device& device, const PipelineCache* cache,
                                                const ComputePipelineDesc& desc) {
  const std::string where = "pipeline " + desc.name;
  if (desc.spirv.empty() || desc.spirv[0] != 0x07230203u)
    return make_error(ErrorCode::kInternal, where + ": not a SPIR-V module");
  if (desc.push_constant_size > device.caps().max_push_constants_size)
    return make_error(ErrorCode::kUnsupported, where + ": needs " + std::to_string(desc.push_constant_size) +
                                                   " bytes of push constants, device allows " +
                                                   std::to_string(device.caps().max_push_constants_size));
  if (desc.required_subgroup_size && !device.caps().subgroup_size_control)
    return make_error(ErrorCode::kUnsupported, where + ": needs subgroupSizeControl");

  ComputePipeline p;
  p.device_ = device.handle();
  p.push_size_ = desc.push_constant_size;
  p.name_ = desc.name;

  if (desc.storage_bindings + desc.texel_bindings > 0) {
    if (!device.push_descriptor_fn())
      return make_error(ErrorCode::kUnsupported, where + ": descriptor bindings need VK_KHR_push_descriptor");
    std::vector<VkDescriptorSetLayoutBinding> bindings(desc.storage_bindings + desc.texel_bindings);
    for (uint32_t i = 0; i < bindings.size(); ++i)
      bindings[i] = {i, i < desc.storage_bindings ? VK_DESCRIPTOR_TYPE_STORAGE_BUFFER : VK_DESCRIPTOR_TYPE_UNIFORM_TEXEL_BUFFER,
                     1, VK_SHADER_STAGE_COMPUTE_BIT, nullptr};
    VkDescriptorSetLayoutCreateInfo set_info{};
    set_info.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO;
    set_info.flags = VK_DESCRIPTOR_SET_LAYOUT_CREATE_PUSH_DESCRIPTOR_BIT_KHR;
    set_info.bindingCount = static_cast<uint32_t>(bindings.size());
    set_info.pBindings = bindings.data();
    const VkResult sr = vkCreateDescriptorSetLayout(p.device_, &set_info, nullptr, &p.set_layout_);
    if (sr != VK_SUCCESS) return vk_error(sr, "vkCreateDescriptorSetLayout").with_context(where);
  }
  VkPushConstantRange range{VK_SHADER_STAGE_COMPUTE_BIT, 0, desc.push_constant_size};
  VkPipelineLayoutCreateInfo layout_info{};
  layout_info.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO;
  layout_info.setLayoutCount = p.set_layout_ ? 1 : 0;
  layout_info.pSetLayouts = &p.set_layout_;
  layout_info.pushConstantRangeCount = desc.push_constant_size ? 1 : 0;
  layout_info.pPushConstantRanges = &range;
  VkResult r = vkCreatePipelineLayout(p.device_, &layout_info, nullptr, &p.layout_);
  if (r != VK_SUCCESS) return vk_error(r, "vkCreatePipelineLayout").with_context(where);

  VkShaderModuleCreateInfo module_info{};
  module_info.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO;
  module_info.codeSize = desc.spirv.size_bytes();
  module_info.pCode = desc.spirv.data();
  VkShaderModule module = VK_NULL_HANDLE;
  r = vkCreateShaderModule(p.device_, &module_info, nullptr, &module);
  if (r != VK_SUCCESS) return vk_error(r, "vkCreateShaderModule").with_context(where);

  std::vector<VkSpecializationMapEntry> entries;
  for (uint32_t i = 0; i < desc.spec_constants.size(); ++i)
    entries.push_back({i, static_cast<uint32_t>(i * sizeof(uint32_t)), sizeof(uint32_t)});
  VkSpecializationInfo spec{};
  spec.mapEntryCount = static_cast<uint32_t>(entries.size());
  spec.pMapEntries = entries.data();
  spec.dataSize = desc.spec_constants.size() * sizeof(uint32_t);
  spec.pData = desc.spec_constants.data();

  VkPipelineShaderStageRequiredSubgroupSizeCreateInfo subgroup{};
  subgroup.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_REQUIRED_SUBGROUP_SIZE_CREATE_INFO;
  subgroup.requiredSubgroupSize = desc.required_subgroup_size;

  VkComputePipelineCreateInfo info{};
  info.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO;
  info.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
  info.stage.pNext = desc.required_subgroup_size ? &subgroup : nullptr;
  info.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  info.stage.module = module;
  info.stage.pName = "main";
  info.stage.pSpecializationInfo = entries.empty() ? nullptr : &spec;
  info.layout = p.layout_;
  r = vkCreateComputePipelines(p.device_, cache ? cache->handle() : VK_NULL_HANDLE, 1, &info, nullptr, &p.pipeline_);
  vkDestroyShaderModule(p.device_, module, nullptr);
  if (r != VK_SUCCESS) return vk_error(r, "vkCreateComputePipelines").with_context(where);
  return p;
}

ComputePipeline::ComputePipeline(ComputePipeline&& o) noexcept
    : device_(std::exchange(o.device_, VK_NULL_HANDLE)),
      layout_(std::exchange(o.layout_, VK_NULL_HANDLE)),
      set_layout_(std::exchange(o.set_layout_, VK_NULL_HANDLE)),
      pipeline_(std::exchange(o.pipeline_, VK_NULL_HANDLE)),
      push_size_(o.push_size_),
      name_(std::move(o.name_)) {}

ComputePipeline& ComputePipeline::operator=(ComputePipeline&& o) noexcept {
  if (this != &o) {
    reset();
    device_ = std::exchange(o.device_, VK_NULL_HANDLE);
    layout_ = std::exchange(o.layout_, VK_NULL_HANDLE);
    set_layout_ = std::exchange(o.set_layout_, VK_NULL_HANDLE);
    pipeline_ = std::exchange(o.pipeline_, VK_NULL_HANDLE);
    push_size_ = o.push_size_;
    name_ = std::move(o.name_);
  }
  return *this;
}

ComputePipeline::~ComputePipeline() { reset(); }

void ComputePipeline::reset() {
  if (pipeline_ != VK_NULL_HANDLE) vkDestroyPipeline(device_, pipeline_, nullptr);
  if (layout_ != VK_NULL_HANDLE) vkDestroyPipelineLayout(device_, layout_, nullptr);
  if (set_layout_ != VK_NULL_HANDLE) vkDestroyDescriptorSetLayout(device_, set_layout_, nullptr);
  pipeline_ = VK_NULL_HANDLE;
  layout_ = VK_NULL_HANDLE;
  set_layout_ = VK_NULL_HANDLE;
}

}  // namespace r1vk::vk
