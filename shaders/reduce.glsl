// workgroup_sum(v): the sum of v over the workgroup, returned to every invocation.
// REDUCE_MODE 0: the workgroup is exactly one subgroup -> subgroupAdd, no barrier (lavapipe
//                runs barrier-free shaders without coroutine switches);
// REDUCE_MODE 1: subgroupAdd per subgroup, then shared memory across subgroups;
// REDUCE_MODE 2: no subgroup ops at all -> shared-memory tree (power-of-two workgroup).
#ifndef REDUCE_MODE
#error "REDUCE_MODE must be set by the variant table"
#endif

#if REDUCE_MODE != 2
#extension GL_KHR_shader_subgroup_basic : require
#extension GL_KHR_shader_subgroup_arithmetic : require
#endif

#if REDUCE_MODE == 0
float workgroup_sum(float v) { return subgroupAdd(v); }
#elif REDUCE_MODE == 1
shared float reduce_scratch[gl_WorkGroupSize.x];
float workgroup_sum(float v) {
  v = subgroupAdd(v);
  if (subgroupElect()) reduce_scratch[gl_SubgroupID] = v;
  barrier();
  float total = 0.0;
  for (uint i = 0; i < gl_NumSubgroups; ++i) total += reduce_scratch[i];
  barrier();  // scratch may be reused by the next call
  return total;
}
#else
shared float reduce_scratch[gl_WorkGroupSize.x];
float workgroup_sum(float v) {
  const uint lid = gl_LocalInvocationID.x;
  reduce_scratch[lid] = v;
  barrier();
  for (uint s = gl_WorkGroupSize.x / 2; s > 0; s >>= 1) {
    if (lid < s) reduce_scratch[lid] += reduce_scratch[lid + s];
    barrier();
  }
  const float total = reduce_scratch[0];
  barrier();
  return total;
}
#endif
