# The one table of shader variants. Each row: variant name, source file, preprocessor defines.
# Build time: every row is compiled by glslc, checked by spirv-val and embedded as
# r1vk::shaders::find("<name>"). Run time: runtime/vulkan/kernel_variants.cpp picks a row from
# DeviceCaps. Workgroup size, rows per workgroup and vector width are specialization constants,
# not rows here.
#
# REDUCE_MODE (reduce.glsl): 0 = one subgroup per workgroup, 1 = subgroups + shared, 2 = shared only.

r1vk_shader_variant(rmsnorm_sg        rmsnorm.comp     REDUCE_MODE=1)
r1vk_shader_variant(rmsnorm_shared    rmsnorm.comp     REDUCE_MODE=2)
r1vk_shader_variant(add_f32           elementwise.comp OP_ADD)
r1vk_shader_variant(swiglu_f32        elementwise.comp OP_SWIGLU)
r1vk_shader_variant(gemv_f16_sg1      gemv_f16.comp    REDUCE_MODE=0)
r1vk_shader_variant(gemv_f16_sg       gemv_f16.comp    REDUCE_MODE=1)
r1vk_shader_variant(gemv_f16_shared   gemv_f16.comp    REDUCE_MODE=2)
r1vk_shader_variant(copy_u32x4        copy.comp)
r1vk_shader_variant(gemv_f16_lanes    gemv_f16_lanes.comp DESCRIPTORS=0)
# The same kernel with W/x/y bound by push descriptors (default on lavapipe, docs/decisions.md D3).
r1vk_shader_variant(gemv_f16_lanes_desc gemv_f16_lanes.comp DESCRIPTORS=1)

# --- Attention family (runtime/kernels/attention_kernels.h): row ops over ActView windows, KV-cache
# stores, split/merge attention (MLA absorbed and GQA), MoE router, sampler.
r1vk_shader_variant(rows_rmsnorm_sg1       rows_rmsnorm.comp     REDUCE_MODE=0)
r1vk_shader_variant(rows_rmsnorm_sg        rows_rmsnorm.comp     REDUCE_MODE=1)
r1vk_shader_variant(rows_rmsnorm_shared    rows_rmsnorm.comp     REDUCE_MODE=2)
r1vk_shader_variant(rows_swiglu            rows_swiglu.comp)
r1vk_shader_variant(rows_rope              rows_rope.comp)
r1vk_shader_variant(kv_store_mla_sg1       kv_store_mla.comp     REDUCE_MODE=0)
r1vk_shader_variant(kv_store_mla_sg        kv_store_mla.comp     REDUCE_MODE=1)
r1vk_shader_variant(kv_store_mla_shared    kv_store_mla.comp     REDUCE_MODE=2)
r1vk_shader_variant(kv_store_gqa           kv_store_gqa.comp)
r1vk_shader_variant(attention_split        attention_split.comp)
# The same with the cache read as texels (CPU drivers with push descriptors, record_attention).
r1vk_shader_variant(attention_split_tex    attention_split.comp  CACHE_TEXELS)
r1vk_shader_variant(attention_merge        attention_merge.comp)
r1vk_shader_variant(moe_route              moe_route.comp)
# In-step expert cache fill (runtime/kernels/expert_fill_kernels.h).
r1vk_shader_variant(expert_claim           expert_claim.comp)
r1vk_shader_variant(expert_fill            expert_fill.comp)
r1vk_shader_variant(sample_argmax_partial  sample_argmax.comp    PARTIAL)
r1vk_shader_variant(sample_argmax_final    sample_argmax.comp)
r1vk_shader_variant(sample_argmax_single   sample_argmax.comp    SINGLE)
r1vk_shader_variant(sample_draw            sample_draw.comp)
r1vk_shader_variant(gather_sampled         gather_sampled.comp)
r1vk_shader_variant(mtp_accept             mtp_accept.comp)

# ---- Matrix kernels of linear / linear_heads / embed / moe_experts (runtime/kernels/linear_kernels.cpp).
# linear.comp shapes: _lanes (CPU drivers, lane per row), _sg / _shared (GPUs, workgroup reduction).
# FORMAT: 0 f32, 1 f16, 2 q8, 3 q4, 4 fp8, 5 q8_0, 6 q4_k, 7 q6_k (GGUF blocks, docs/gguf.md). MOE: 0 plain linear, 1 expert gate|up, 2 expert down,
# 3/4 grouped (prefill) gate|up / down.
foreach(_fmt f32 f16 q8 q4 fp8 q8_0 q4_k q6_k)
  if(_fmt STREQUAL "f32")
    set(_fid 0)
  elseif(_fmt STREQUAL "f16")
    set(_fid 1)
  elseif(_fmt STREQUAL "q8")
    set(_fid 2)
  elseif(_fmt STREQUAL "q4")
    set(_fid 3)
  elseif(_fmt STREQUAL "fp8")
    set(_fid 4)
  elseif(_fmt STREQUAL "q8_0")
    set(_fid 5)
  elseif(_fmt STREQUAL "q4_k")
    set(_fid 6)
  else()
    set(_fid 7)
  endif()
  foreach(_moe 0 1 2 3 4)
    if(_moe EQUAL 0)
      set(_op linear)
    elseif(_moe EQUAL 1)
      set(_op moe_gu)
    elseif(_moe EQUAL 2)
      set(_op moe_down)
    elseif(_moe EQUAL 3)
      set(_op moe_group_gu)
    else()
      set(_op moe_group_down)
    endif()
    r1vk_shader_variant(${_op}_lanes_${_fmt}  linear.comp FORMAT=${_fid} MOE=${_moe} SHAPE_LANES)
    r1vk_shader_variant(${_op}_sg_${_fmt}     linear.comp FORMAT=${_fid} MOE=${_moe} REDUCE_MODE=1)
    r1vk_shader_variant(${_op}_shared_${_fmt} linear.comp FORMAT=${_fid} MOE=${_moe} REDUCE_MODE=2)
  endforeach()
  # Grouped MoE GEMMs with x bound as a uniform texel buffer, experts still device addresses.
  r1vk_shader_variant(moe_group_gu_lanes_bx_${_fmt}   linear.comp FORMAT=${_fid} MOE=3 SHAPE_LANES BOUND_X)
  r1vk_shader_variant(moe_group_down_lanes_bx_${_fmt} linear.comp FORMAT=${_fid} MOE=4 SHAPE_LANES BOUND_X)
  if(_fid LESS 5)
    # Descriptor-bound twin of the plain lanes kernel: W and its scales bound as storage buffers,
    # x and a fused norm weight as uniform texel buffers (push descriptors), cheaper loads on
    # lavapipe (docs/decisions.md D3).
    r1vk_shader_variant(linear_lanes_bound_${_fmt} linear.comp FORMAT=${_fid} MOE=0 SHAPE_LANES BOUND)
  endif()
  r1vk_shader_variant(embed_${_fmt} embed.comp FORMAT=${_fid})
  # The MTP input (embedding + its RMSNorm + the hidden state's RMSNorm), per reduction mode.
  r1vk_shader_variant(embed_norm_${_fmt}_sg1    embed_norm.comp FORMAT=${_fid} REDUCE_MODE=0)
  r1vk_shader_variant(embed_norm_${_fmt}_sg     embed_norm.comp FORMAT=${_fid} REDUCE_MODE=1)
  r1vk_shader_variant(embed_norm_${_fmt}_shared embed_norm.comp FORMAT=${_fid} REDUCE_MODE=2)
endforeach()
r1vk_shader_variant(moe_swiglu moe_swiglu.comp)
r1vk_shader_variant(moe_group moe_group.comp)
r1vk_shader_variant(moe_combine moe_combine.comp)
# ---- end of matrix kernels
