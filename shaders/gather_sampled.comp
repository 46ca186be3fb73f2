#version 460
// y[i, :] = x[row of sample i, :] for each sample of the step (StepParams sample records): a
// step that keeps no logits then runs the output head on its sampled rows only, not on every
// row of a prefill chunk (runtime/exec/program_recorder.cpp). One workgroup per sample (flat
// grid); lanes stride over the columns. A sample row past the step's rows reads the last row
// (guards memory only: the host writes rows inside the step).
#include "common.glsl"
#include "step.glsl"

layout(local_size_x_id = 0) in;

layout(push_constant) uniform Params {
  F32In x;
  F32Out y;
  StepParams step;
  uint x_stride;
  uint y_stride;
  uint cols;
} p;

void main() {
  const uint i = flat_group_id();
  if (i >= p.step.n_samples) return;
  const uint row = min(step_sample_u(p.step, i, 0), max(p.step.n_tokens, 1u) - 1u);
  for (uint c = gl_LocalInvocationID.x; c < p.cols; c += gl_WorkGroupSize.x)  // host: cols / WG < 65535
    p.y.v[i * p.y_stride + c] = p.x.v[row * p.x_stride + c];
}
