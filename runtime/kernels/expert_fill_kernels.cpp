#include "kernels/expert_fill_kernels.h"

#include <algorithm>
#include <string>

#include "kernels/attention_record_util.h"

namespace r1vk::kernels {
namespace {

struct ClaimParams {
  VkDeviceAddress ids, step, descs, flags, table, state, ring, log, jobs;
  uint32_t ids_stride, top_k, experts;
};

struct FillParams {
  VkDeviceAddress descs, state, jobs;
  uint32_t groups_per_job;
};

constexpr uint32_t kMaxExperts = 1024;  // expert_claim.comp's shared array
constexpr uint32_t kGroup = 64;
// 32-byte words each fill invocation copies per expert, at most: enough workgroups per expert
// to spread a copy over a GPU, and far below the CPU drivers' loop limit.
constexpr uint64_t kWordsPerInvocation = 64;

}  // namespace

Status ExpertFillKernels::record(vk::CommandBuffer& cmd, const ExpertFillArgs& a, const StepView& step) const {
  const std::string k = "expert_fill";
  R1VK_TRY(detail::check_step(k, step));
  if (a.experts == 0 || a.experts > kMaxExperts)
    return detail::invalid(k, std::to_string(a.experts) + " experts (1.." + std::to_string(kMaxExperts) + " supported)");
  if (a.top_k == 0 || a.top_k > a.experts) return detail::invalid(k, "top_k must be in 1..experts");
  R1VK_TRY(detail::check_view(k, "ids", a.ids, a.top_k));
  if (!a.descs || !a.flags || !a.table || !a.state || !a.ring || !a.log || !a.jobs)
    return detail::invalid(k, "a buffer has no device address");
  if (a.max_jobs == 0) return detail::invalid(k, "max_jobs must be positive");
  R1VK_TRY(detail::check_loop(k, uint64_t{step.max_tokens} * a.top_k / kGroup + a.experts + 64));

  const ClaimParams c{a.ids.addr, step.params, a.descs, a.flags, a.table, a.state, a.ring, a.log, a.jobs,
                      a.ids.row_stride, a.top_k, a.experts};
  R1VK_TRY(detail::record(cmd, pipelines_, "expert_claim", {kGroup}, c, 1, k));
  cmd.compute_barrier();
  const uint64_t words = (a.max_expert_bytes + 31) / 32 + 4;  // + one rounded-up word per part
  const auto groups_per_job = static_cast<uint32_t>(std::max<uint64_t>(1, (words + kGroup * kWordsPerInvocation - 1) /
                                                                               (kGroup * kWordsPerInvocation)));
  const FillParams f{a.descs, a.state, a.jobs, groups_per_job};
  R1VK_TRY(detail::record(cmd, pipelines_, "expert_fill", {kGroup}, f, uint64_t{groups_per_job} * a.max_jobs, k));
  cmd.compute_barrier();
  return ok_status();
}

}  // namespace r1vk::kernels
