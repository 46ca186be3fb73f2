#include "kernels/pipeline_set.h"

#include "embedded_shaders.h"

namespace r1vk::kernels {

Result<const vk::ComputePipeline*> PipelineSet::get(const std::string& variant, const std::vector<uint32_t>& spec,
                                                    uint32_t push_size, uint32_t storage_bindings,
                                                    uint32_t texel_bindings) {
  std::string key = variant;
  for (uint32_t s : spec) key += ":" + std::to_string(s);
  if (texel_bindings) key += ":t" + std::to_string(texel_bindings);
  if (auto it = pipelines_.find(key); it != pipelines_.end()) return &it->second;
  const shaders::EmbeddedShader* shader = shaders::find(variant);
  if (!shader) return make_error(ErrorCode::kInternal, "no embedded shader variant named " + variant);
  vk::ComputePipelineDesc desc;
  desc.name = key;
  desc.spirv = shader->spirv();
  desc.spec_constants = spec;
  desc.push_constant_size = push_size;
  desc.storage_bindings = storage_bindings;
  desc.texel_bindings = texel_bindings;
  R1VK_ASSIGN_OR_RETURN(auto p, vk::ComputePipeline::create(ctx_.device(), &ctx_.pipeline_cache(), desc));
  return &pipelines_.emplace(key, std::move(p)).first->second;
}

}  // namespace r1vk::kernels
