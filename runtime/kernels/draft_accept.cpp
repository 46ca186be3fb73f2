#include "kernels/draft_accept.h"

#include <algorithm>
#include <string>

#include "kernels/attention_record_util.h"

namespace r1vk::kernels {

namespace {
struct AcceptParams {
  VkDeviceAddress step, fed, sampled, drafts, entries, hidden, hidden_out, tokens_out, passes;
  uint32_t pass_words, n_passes, hidden_stride, cols, trash_slot, force_accept;
};
}  // namespace

Status record_draft_accept(vk::CommandBuffer& cmd, PipelineSet& pipelines, const DraftAcceptArgs& a) {
  const std::string k = "mtp_accept";
  if (!a.step || !a.fed || !a.sampled || !a.drafts || !a.entries || !a.hidden || !a.hidden_out || !a.tokens_out || !a.passes)
    return detail::invalid(k, "a buffer has no device address");
  if (a.cols == 0 || a.hidden_stride < a.cols || a.max_entries == 0 || a.n_passes == 0 || a.pass_words == 0)
    return detail::invalid(k, "zero columns, entries or passes");
  const uint32_t wg = std::min<uint32_t>(64, pipelines.context().caps().max_workgroup_invocations);
  R1VK_TRY(detail::check_loop(k, (uint64_t{a.cols} + wg - 1) / wg));
  const AcceptParams p{a.step,       a.fed,     a.sampled,       a.drafts, a.entries,    a.hidden, a.hidden_out,
                       a.tokens_out, a.passes,  a.pass_words,    a.n_passes, a.hidden_stride, a.cols, a.trash_slot,
                       a.force_accept};
  return detail::record(cmd, pipelines, k, {wg}, p, a.max_entries, k);
}

}  // namespace r1vk::kernels
