#include "descriptor_gemv_probe.h"

#include <array>

#include "embedded_shaders.h"
#include "vulkan/vk_check.h"

namespace r1vk::cli {
namespace {

// The handful of descriptor objects the probe needs, destroyed together.
struct DescriptorObjects {
  VkDevice device = VK_NULL_HANDLE;
  VkDescriptorSetLayout set_layout = VK_NULL_HANDLE;
  VkPipelineLayout layout = VK_NULL_HANDLE;
  VkPipeline pipeline = VK_NULL_HANDLE;
  VkDescriptorPool pool = VK_NULL_HANDLE;
  VkDescriptorSet set = VK_NULL_HANDLE;
  DescriptorObjects() = default;
  DescriptorObjects(const DescriptorObjects&) = delete;
  DescriptorObjects& operator=(const DescriptorObjects&) = delete;
  ~DescriptorObjects() {
    if (pipeline) vkDestroyPipeline(device, pipeline, nullptr);
    if (layout) vkDestroyPipelineLayout(device, layout, nullptr);
    if (pool) vkDestroyDescriptorPool(device, pool, nullptr);
    if (set_layout) vkDestroyDescriptorSetLayout(device, set_layout, nullptr);
  }
};

Status build(DescriptorObjects& d, vk::Context& ctx, const vk::GemvChoice& choice, const vk::Buffer* buffers[3]) {
  d.device = ctx.device().handle();
  std::array<VkDescriptorSetLayoutBinding, 3> bindings{};
  for (uint32_t i = 0; i < 3; ++i) bindings[i] = {i, VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 1, VK_SHADER_STAGE_COMPUTE_BIT, nullptr};
  VkDescriptorSetLayoutCreateInfo set_info{};
  set_info.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_LAYOUT_CREATE_INFO;
  set_info.bindingCount = 3;
  set_info.pBindings = bindings.data();
  R1VK_VK_TRY(vkCreateDescriptorSetLayout(d.device, &set_info, nullptr, &d.set_layout));

  VkPushConstantRange range{VK_SHADER_STAGE_COMPUTE_BIT, 0, 8};
  VkPipelineLayoutCreateInfo layout_info{};
  layout_info.sType = VK_STRUCTURE_TYPE_PIPELINE_LAYOUT_CREATE_INFO;
  layout_info.setLayoutCount = 1;
  layout_info.pSetLayouts = &d.set_layout;
  layout_info.pushConstantRangeCount = 1;
  layout_info.pPushConstantRanges = &range;
  R1VK_VK_TRY(vkCreatePipelineLayout(d.device, &layout_info, nullptr, &d.layout));

  const shaders::EmbeddedShader* shader = shaders::find("gemv_f16_lanes_desc");
  if (!shader) return make_error(ErrorCode::kInternal, "gemv_f16_lanes_desc is not embedded");
  VkShaderModuleCreateInfo module_info{};
  module_info.sType = VK_STRUCTURE_TYPE_SHADER_MODULE_CREATE_INFO;
  module_info.codeSize = shader->spirv().size_bytes();
  module_info.pCode = shader->words;
  VkShaderModule module = VK_NULL_HANDLE;
  R1VK_VK_TRY(vkCreateShaderModule(d.device, &module_info, nullptr, &module));
  const std::array<uint32_t, 2> spec_values = {choice.workgroup_size, choice.rows_per_workgroup / choice.workgroup_size};
  const std::array<VkSpecializationMapEntry, 2> entries = {{{0, 0, 4}, {1, 4, 4}}};
  VkSpecializationInfo spec{2, entries.data(), sizeof spec_values, spec_values.data()};
  VkComputePipelineCreateInfo info{};
  info.sType = VK_STRUCTURE_TYPE_COMPUTE_PIPELINE_CREATE_INFO;
  info.stage.sType = VK_STRUCTURE_TYPE_PIPELINE_SHADER_STAGE_CREATE_INFO;
  info.stage.stage = VK_SHADER_STAGE_COMPUTE_BIT;
  info.stage.module = module;
  info.stage.pName = "main";
  info.stage.pSpecializationInfo = &spec;
  info.layout = d.layout;
  const VkResult r = vkCreateComputePipelines(d.device, VK_NULL_HANDLE, 1, &info, nullptr, &d.pipeline);
  vkDestroyShaderModule(d.device, module, nullptr);
  R1VK_VK_TRY(r);

  VkDescriptorPoolSize pool_size{VK_DESCRIPTOR_TYPE_STORAGE_BUFFER, 3};
  VkDescriptorPoolCreateInfo pool_info{};
  pool_info.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_POOL_CREATE_INFO;
  pool_info.maxSets = 1;
  pool_info.poolSizeCount = 1;
  pool_info.pPoolSizes = &pool_size;
  R1VK_VK_TRY(vkCreateDescriptorPool(d.device, &pool_info, nullptr, &d.pool));
  VkDescriptorSetAllocateInfo alloc{};
  alloc.sType = VK_STRUCTURE_TYPE_DESCRIPTOR_SET_ALLOCATE_INFO;
  alloc.descriptorPool = d.pool;
  alloc.descriptorSetCount = 1;
  alloc.pSetLayouts = &d.set_layout;
  R1VK_VK_TRY(vkAllocateDescriptorSets(d.device, &alloc, &d.set));

  std::array<VkDescriptorBufferInfo, 3> infos{};
  std::array<VkWriteDescriptorSet, 3> writes{};
  for (uint32_t i = 0; i < 3; ++i) {
    infos[i] = {buffers[i]->handle(), 0, buffers[i]->size()};
    writes[i].sType = VK_STRUCTURE_TYPE_WRITE_DESCRIPTOR_SET;
    writes[i].dstSet = d.set;
    writes[i].dstBinding = i;
    writes[i].descriptorCount = 1;
    writes[i].descriptorType = VK_DESCRIPTOR_TYPE_STORAGE_BUFFER;
    writes[i].pBufferInfo = &infos[i];
  }
  vkUpdateDescriptorSets(d.device, 3, writes.data(), 0, nullptr);
  return ok_status();
}

}  // namespace

Result<TimingStats> bench_gemv_f16_descriptors(vk::Context& ctx, const vk::GemvChoice& choice, const vk::Buffer& w,
                                               const vk::Buffer& x, const vk::Buffer& y, uint32_t rows, uint32_t cols,
                                               int iters) {
  if (!vk::gemv_is_lane_per_row(choice) || cols % 16 != 0)
    return make_error(ErrorCode::kInvalidArgument, "--descriptors compares the gemv_f16_lanes variant; needs cols % 16 == 0");
  for (const vk::Buffer* b : {&w, &x, &y})
    if (b->size() > ctx.caps().max_storage_buffer_range)
      return make_error(ErrorCode::kUnsupported, "buffer " + b->name() + " exceeds maxStorageBufferRange (" +
                                                     std::to_string(ctx.caps().max_storage_buffer_range) +
                                                     " bytes): a descriptor cannot bind it whole");
  DescriptorObjects d;
  const vk::Buffer* buffers[3] = {&w, &x, &y};
  R1VK_TRY(build(d, ctx, choice, buffers));
  const uint32_t push[2] = {rows, cols};
  const uint64_t groups = (uint64_t{rows} + choice.rows_per_workgroup - 1) / choice.rows_per_workgroup;
  auto record = [&](vk::CommandBuffer& cmd) -> Status {
    vkCmdBindPipeline(cmd.handle(), VK_PIPELINE_BIND_POINT_COMPUTE, d.pipeline);
    vkCmdBindDescriptorSets(cmd.handle(), VK_PIPELINE_BIND_POINT_COMPUTE, d.layout, 0, 1, &d.set, 0, nullptr);
    vkCmdPushConstants(cmd.handle(), d.layout, VK_SHADER_STAGE_COMPUTE_BIT, 0, sizeof push, push);
    if (groups > ctx.caps().max_workgroup_count[0]) return make_error(ErrorCode::kOutOfRange, "too many rows for the probe");
    cmd.dispatch(static_cast<uint32_t>(groups));
    return ok_status();
  };
  R1VK_TRY(time_dispatches(ctx, 1, record));  // warm-up
  return time_dispatches(ctx, iters, record);
}

}  // namespace r1vk::cli
