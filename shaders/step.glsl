// Per-step values a recorded command buffer reads on the device (host encoder:
// runtime/kernels/views.h encode_step). One step runs n_tokens rows, each a token of some
// sequence at some position; the layout is a header and u32 arrays after it:
//   rows    [n_tokens] x (position, sequence slot)        at word 8
//   samples [n_samples] x 8 words (row, rng_counter, temperature, top_p, top_k, seed, 0, 0)
//                                                          at word samples_at
//   block table [slots][max_blocks]: cache block of each sequence slot's i-th block_tokens
//   positions                                              at word table_at
// Rows at or past n_tokens are skipped by every kernel, samples at or past n_samples by the
// sampler. A sequence slot is the index of its entry in this step (the host rewrites the table
// rows it uses every step), so the table is per step, not per sequence.
layout(buffer_reference, std430, buffer_reference_align = 16) readonly buffer StepParams {
  uint n_tokens;
  uint n_samples;
  uint samples_at;
  uint table_at;
  uint max_blocks;
  uint reserved0, reserved1, reserved2;
  uint w[];
};

uint step_pos(StepParams s, uint t) { return s.w[2 * t]; }
uint step_seq(StepParams s, uint t) { return s.w[2 * t + 1]; }
// Sample record i, field f (0 row, 1 rng_counter, 2 temperature, 3 top_p, 4 top_k, 5 seed).
uint step_sample_u(StepParams s, uint i, uint f) { return s.w[s.samples_at - 8 + 8 * i + f]; }
float step_sample_f(StepParams s, uint i, uint f) { return uintBitsToFloat(step_sample_u(s, i, f)); }
// Cache row (in a pool of block_tokens-row blocks) holding position pos of sequence slot seq.
uint step_cache_row(StepParams s, uint seq, uint pos, uint block_tokens) {
  return s.w[s.table_at - 8 + seq * s.max_blocks + pos / block_tokens] * block_tokens + pos % block_tokens;
}
