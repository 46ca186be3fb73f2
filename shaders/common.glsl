// Shared by every kernel: buffers arrive as device addresses in push constants (DESIGN.md
// decision 3), so no binding limits the size of a tensor.
#extension GL_EXT_buffer_reference : require
#extension GL_EXT_shader_16bit_storage : require
#extension GL_EXT_shader_explicit_arithmetic_types_float16 : require

layout(buffer_reference, std430, buffer_reference_align = 4) readonly buffer F32In { float v[]; };
layout(buffer_reference, std430, buffer_reference_align = 4) buffer F32Out { float v[]; };
layout(buffer_reference, std430, buffer_reference_align = 16) readonly buffer Vec4In { vec4 v[]; };
layout(buffer_reference, std430, buffer_reference_align = 8) readonly buffer Vec2In { vec2 v[]; };
layout(buffer_reference, std430, buffer_reference_align = 16) readonly buffer U32x4In { uvec4 v[]; };
layout(buffer_reference, std430, buffer_reference_align = 4) readonly buffer U32In { uint v[]; };
layout(buffer_reference, std430, buffer_reference_align = 2) readonly buffer F16In { float16_t v[]; };
layout(buffer_reference, std430, buffer_reference_align = 16) buffer U32x4Out { uvec4 v[]; };

// Flattened 2-D workgroup id: large problems dispatch (x, y) grids because
// maxComputeWorkGroupCount[0] may be as small as 65535.
uint flat_group_id() { return gl_WorkGroupID.x + gl_WorkGroupID.y * gl_NumWorkGroups.x; }

// llvmpipe/lavapipe silently stops a shader's loops after 65535 iterations in total per
// invocation (gallivm's loop limiter), so the host keeps every per-invocation trip count below
// that (kernel_variants.cpp, kLoopIterationLimit) instead of trusting long loops.
