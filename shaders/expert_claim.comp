#version 460
// In-step expert cache fill, part 1 (docs/offload.md, "In-step copies"): after moe_route, one
// workgroup finds the distinct experts the step's rows chose, and for each one that is still in
// host memory and may be copied (its flag is 1), in expert order, claims the next free cache
// slot of the ring the host filled between steps. A claimed expert's flag drops to 0, its entry
// in the op's address table points into the slot (read by the expert GEMMs after the copy,
// part 2: expert_fill.comp), and (unit, slot) goes to the log the host reads between steps.
// When the ring is empty the remaining experts keep their host entries: the GEMMs read them in
// place. Invocation 0 claims serially (at most `experts` trips), so claims are deterministic.
#include "common.glsl"
#include "step.glsl"
#extension GL_EXT_shader_explicit_arithmetic_types_int64 : require

layout(local_size_x_id = 0) in;

layout(buffer_reference, std430, buffer_reference_align = 4) readonly buffer I32In { int v[]; };
layout(buffer_reference, std430, buffer_reference_align = 4) buffer U32Flags { uint v[]; };
layout(buffer_reference, std430, buffer_reference_align = 8) buffer U64Table { uint64_t v[]; };

// One expert of the op (host: ExpertCache's FillDesc): its four parts' host addresses, sizes
// and offsets in a slot, and its cache unit (for the log).
struct FillDesc {
  uint64_t src[4];
  uint size[4];
  uint dst_offset[4];
  uint unit;
  uint pad0, pad1, pad2;
};
layout(buffer_reference, std430, buffer_reference_align = 16) readonly buffer Descs { FillDesc d[]; };

// The shared state (host: ExpertCache's FillState): ring of free slots [head, tail) modulo cap,
// the log of this interval's claims, and the jobs of the current op for expert_fill.comp.
struct RingEntry {
  uint64_t base;  // the slot's device address
  uint slot;
  uint pad;
};
layout(buffer_reference, std430, buffer_reference_align = 16) buffer State {
  uint head, tail, log_count, cap;
  uint job_count, pad0, pad1, pad2;
};
// ring[cap], log[cap] of (unit, slot) and jobs[cap] of (expert, 0, slot address low, high)
// follow the header; the host passes their addresses.
layout(buffer_reference, std430, buffer_reference_align = 16) buffer Ring { RingEntry e[]; };
layout(buffer_reference, std430, buffer_reference_align = 8) buffer Log { uvec2 e[]; };
layout(buffer_reference, std430, buffer_reference_align = 16) buffer Jobs { uvec4 e[]; };

layout(push_constant) uniform Params {
  I32In ids;
  StepParams step;
  Descs descs;      // this op's descriptors, by expert
  U32Flags flags;   // this op's flags, by expert: 1 = in host memory, may be copied
  U64Table table;   // this op's ExpertAddresses table (4 addresses per expert)
  State state;
  Ring ring;
  Log log;
  Jobs jobs;
  uint ids_stride, top_k, experts;
} p;

const uint MAX_EXPERTS = 1024;  // checked on the host
shared uint chosen_sh[MAX_EXPERTS];

void main() {
  const uint lid = gl_LocalInvocationID.x, E = p.experts;
  for (uint e = lid; e < E; e += gl_WorkGroupSize.x) chosen_sh[e] = 0;
  barrier();
  const uint picks = p.step.n_tokens * p.top_k;
  for (uint i = lid; i < picks; i += gl_WorkGroupSize.x) {
    const int e = p.ids.v[(i / p.top_k) * p.ids_stride + i % p.top_k];
    if (e >= 0 && uint(e) < E) chosen_sh[e] = 1;  // every writer stores 1
  }
  barrier();
  if (lid != 0) return;
  uint head = p.state.head, n = 0, logged = p.state.log_count;
  const uint tail = p.state.tail, cap = p.state.cap;
  for (uint e = 0; e < E && head != tail; ++e) {
    if (chosen_sh[e] == 0 || p.flags.v[e] != 1) continue;
    const RingEntry r = p.ring.e[head % cap];
    ++head;
    p.flags.v[e] = 0;
    const FillDesc d = p.descs.d[e];
    for (uint k = 0; k < 4; ++k) p.table.v[4 * e + k] = d.size[k] == 0 ? uint64_t(0) : r.base + uint64_t(d.dst_offset[k]);
    p.log.e[logged++] = uvec2(d.unit, r.slot);
    p.jobs.e[n++] = uvec4(e, 0, unpackUint2x32(r.base));
  }
  p.state.head = head;
  p.state.log_count = logged;
  p.state.job_count = n;
}
