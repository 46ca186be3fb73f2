// Per-step values a recorded command buffer reads on the device (host mirror:
// runtime/kernels/views.h StepParams). Row t of a chunk is at position pos0 + t; rows at or past
// n_tokens are skipped by every kernel.
layout(buffer_reference, std430, buffer_reference_align = 16) readonly buffer StepParams {
  uint n_tokens;
  uint pos0;
  uint sample_row;
  uint rng_counter;
  float temperature;
  float top_p;
  uint top_k;
  uint seed;
};
