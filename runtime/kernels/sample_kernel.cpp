// AttentionKernels::record_sample: the sampler on the GPU (and record_gather_sampled, which
// hands the output head only the rows the sampler reads). Three dispatches, all recorded every
// time because temperature, top_k and top_p are per-step values read on the device:
// sample_argmax PARTIAL (chunks of the row) -> sample_argmax FINAL (row max and argmax; writes
// the token when greedy) -> sample_draw (one workgroup; returns at once when greedy). A row of
// one chunk (vocabularies up to 4096) runs both argmax passes as one (sample_argmax SINGLE): on
// a CPU driver every dispatch has a fixed cost (docs/speculative.md). greedy_only records no
// draw pass. Only the first min(vocab limit, logits.cols) ids are candidates (set_sample_vocab_limit).
#include <algorithm>
#include <string>

#include "kernels/attention_kernels.h"
#include "kernels/attention_record_util.h"

namespace r1vk::kernels {

namespace {

struct ArgmaxParams {
  VkDeviceAddress logits, scratch, out_token, next_tokens, step;
  uint32_t stride, vocab, chunk, groups, has_next;
};
struct GatherParams {
  VkDeviceAddress x, y, step;
  uint32_t x_stride, y_stride, cols;
};
struct DrawParams {
  VkDeviceAddress logits, scratch, out_token, next_tokens, step;
  uint32_t stride, vocab, max_slot, has_next;
};

constexpr uint32_t kArgmaxGroup = 256;
constexpr uint32_t kArgmaxChunk = kArgmaxGroup * 16;  // 16 loop trips per invocation
constexpr uint32_t kDrawGroup = 256;

uint32_t argmax_groups(uint32_t vocab) { return (vocab + kArgmaxChunk - 1) / kArgmaxChunk; }

}  // namespace

Status AttentionKernels::record_gather_sampled(vk::CommandBuffer& cmd, const ActView& in, const ActView& out,
                                               const StepView& step, uint32_t max_samples) {
  const std::string k = "gather_sampled";
  R1VK_TRY(detail::check_step(k, step));
  if (in.cols == 0) return detail::invalid(k, "zero columns");
  R1VK_TRY(detail::check_view(k, "input", in, in.cols));
  R1VK_TRY(detail::check_view(k, "output", out, in.cols));
  if (max_samples == 0) return detail::invalid(k, "max_samples must be positive");
  const uint32_t wg = std::min<uint32_t>(64, pipelines_.context().caps().max_workgroup_invocations);
  R1VK_TRY(detail::check_loop(k, (uint64_t{in.cols} + wg - 1) / wg));
  const GatherParams p{in.addr, out.addr, step.params, in.row_stride, out.row_stride, in.cols};
  return detail::record(cmd, pipelines_, "gather_sampled", {wg}, p, max_samples, k);
}

uint64_t AttentionKernels::sample_scratch_bytes(uint32_t vocab, uint32_t max_samples) {
  return (2ull * argmax_groups(vocab) + 2) * 4 * max_samples;
}

Status AttentionKernels::record_sample(vk::CommandBuffer& cmd, const ActView& logits, VkDeviceAddress out_token,
                                       VkDeviceAddress next_tokens, const StepView& step,
                                       uint32_t max_samples, bool greedy_only) {
  const std::string k = "sample";
  R1VK_TRY(detail::check_step(k, step));
  if (logits.cols == 0) return detail::invalid(k, "empty vocabulary");
  R1VK_TRY(detail::check_view(k, "logits", logits, logits.cols));
  if (out_token == 0) return detail::invalid(k, "no out_token address");
  if (sample_scratch_ == 0) return detail::invalid(k, "set_sample_scratch() was not called");
  if (max_samples == 0) return detail::invalid(k, "max_samples must be positive");
  // The ids past the limit are masked by not being part of the row at all: every pass of both
  // shaders runs over [0, V) (the row stride stays the logits' own).
  const uint32_t V = sample_vocab_limit_ > 0 ? std::min(logits.cols, sample_vocab_limit_) : logits.cols;
  const uint32_t groups = argmax_groups(V);
  if (groups > 1024 * 64) return detail::invalid(k, "vocabulary too large");
  // sample_draw: up to 2 x 16 radix levels (a pass over the row, 16 bins, a 256-entry column sum)
  // plus the mass, chunk and scan passes.
  const uint64_t per_pass = (V + kDrawGroup - 1) / kDrawGroup;
  R1VK_TRY(detail::check_loop(k, 32 * (per_pass + 32 + kDrawGroup + 2) + 3 * per_pass + 2 * kDrawGroup));
  R1VK_TRY(detail::check_loop(k, (uint64_t{groups} + kArgmaxGroup - 1) / kArgmaxGroup + 8));

  const uint32_t has_next = next_tokens ? 1u : 0u;
  const VkDeviceAddress next = next_tokens ? next_tokens : out_token;
  const ArgmaxParams partial{logits.addr, sample_scratch_, out_token, next, step.params, logits.row_stride, V, kArgmaxChunk,
                             groups, has_next};
  if (groups == 1) {
    R1VK_TRY(detail::record(cmd, pipelines_, "sample_argmax_single", {kArgmaxGroup}, partial, max_samples, k));
  } else {
    R1VK_TRY(detail::record(cmd, pipelines_, "sample_argmax_partial", {kArgmaxGroup}, partial, uint64_t{groups} * max_samples, k));
    cmd.compute_barrier();
    R1VK_TRY(detail::record(cmd, pipelines_, "sample_argmax_final", {kArgmaxGroup}, partial, max_samples, k));
  }
  if (greedy_only) return ok_status();
  cmd.compute_barrier();
  const DrawParams draw{logits.addr, sample_scratch_, out_token, next, step.params, logits.row_stride, V, 2 * groups, has_next};
  return detail::record(cmd, pipelines_, "sample_draw", {kDrawGroup}, draw, max_samples, k);
}

}  // namespace r1vk::kernels
