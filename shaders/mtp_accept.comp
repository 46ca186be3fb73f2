#version 460
// Speculative decoding with several MTP drafts per step (docs/speculative.md, "Several drafts"):
// after the main program sampled the step's rows and the first MTP pass drafted the token after
// each sampled row, one workgroup per sampled entry i (in sample order):
//  - a = the entry's accepted drafts: its fed drafts d_1..d_n (the rows of its samples s0+1..s0+n)
//    that equal the token sampled from the row before them, up to the first that differs (the
//    same comparison the host repeats on the read-back ids);
//  - row i of the next MTP pass's inputs: the first pass's normed output row of the entry's last
//    accepted row (the row of sample s0 + a) and the draft it made there;
//  - row i of every extra pass's step: pass d (0-based) at position pos(that row) + 1 + d of the
//    entry's sequence slot, the position whose MTP cache row the next step rewrites; at or past
//    the entry's limit (no cache block reserved there, or the context's end) at position 0 of the
//    trash slot, whose table row points at a block no sequence owns.
// Entry records (host-written): word 0 the number of entries, then per entry 4 words: first
// sample s0, drafts n, limit position, sequence slot.
#include "common.glsl"
#include "step.glsl"

layout(local_size_x_id = 0) in;

layout(buffer_reference, std430, buffer_reference_align = 4) buffer U32Out { uint v[]; };

layout(push_constant) uniform Params {
  StepParams step;    // the main step
  U32In fed;          // its fed token per row
  U32In sampled;      // the main sampler's token per sample
  U32In drafts;       // the first MTP pass's draft per sample
  U32In entries;      // entry records
  F32In hidden;       // the first MTP pass's normed output rows (hidden_stride apart)
  F32Out hidden_out;  // [entries, cols]: the next pass's hidden rows
  U32Out tokens_out;  // [entries]: the next pass's tokens
  U32Out passes;      // the extra passes' steps, pass d at word d * pass_words
  uint pass_words;
  uint n_passes;
  uint hidden_stride;
  uint cols;
  uint trash_slot;
  uint force_accept;  // testing only: draft number force_accept stands once the ones before it did; 0: never
} p;

void main() {
  const uint i = flat_group_id();
  if (i >= p.entries.v[0]) return;
  const uint s0 = p.entries.v[1 + 4 * i], n = p.entries.v[2 + 4 * i];
  const uint limit = p.entries.v[3 + 4 * i], slot = p.entries.v[4 + 4 * i];
  uint a = 0;
  while (a < n && (p.fed.v[step_sample_u(p.step, s0 + a + 1, 0)] == p.sampled.v[s0 + a] || a + 1 == p.force_accept)) ++a;
  const uint row = step_sample_u(p.step, s0 + a, 0);
  for (uint c = gl_LocalInvocationID.x; c < p.cols; c += gl_WorkGroupSize.x)  // host: cols / WG < 65535
    p.hidden_out.v[i * p.cols + c] = p.hidden.v[row * p.hidden_stride + c];
  if (gl_LocalInvocationID.x != 0) return;
  p.tokens_out.v[i] = p.drafts.v[s0 + a];
  const uint pos = step_pos(p.step, row) + 1;
  for (uint d = 0; d < p.n_passes; ++d) {
    const uint w = d * p.pass_words + 8 + 2 * i;
    const bool inside = pos + d < limit;
    p.passes.v[w] = inside ? pos + d : 0;
    p.passes.v[w + 1] = inside ? slot : p.trash_slot;
  }
}
