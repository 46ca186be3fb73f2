// Shared by the row kernels of the attention family (rows_*.comp, kv_store_*.comp, attention_*.comp):
// writable f16 cache rows and 64-bit loads of four halves. Include after common.glsl.
layout(buffer_reference, std430, buffer_reference_align = 2) buffer F16Out { float16_t v[]; };
layout(buffer_reference, std430, buffer_reference_align = 8) readonly buffer U32x2In { uvec2 v[]; };
layout(buffer_reference, std430, buffer_reference_align = 4) buffer U32Out { uint v[]; };

vec4 halves4(uvec2 u) { return vec4(unpackHalf2x16(u.x), unpackHalf2x16(u.y)); }
