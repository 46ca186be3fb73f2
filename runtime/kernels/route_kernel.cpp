// AttentionKernels::record_moe_route: the MoE router on the GPU (shaders/moe_route.comp).
#include <string>

#include "kernels/attention_kernels.h"
#include "kernels/attention_record_util.h"

namespace r1vk::kernels {

namespace {

struct RouteParams {
  VkDeviceAddress logits, bias, ids, weights, step, counters;
  uint32_t logit_stride, ids_stride, w_stride, experts, top_k, n_group, topk_group, sigmoid, group_score, normalize,
      has_bias, has_counters;
  float scaling;
};

constexpr uint32_t kMaxExperts = 1024;  // shared arrays of moe_route.comp
constexpr uint32_t kMaxGroups = 64;     // kept-group bit masks
constexpr uint32_t kRouteGroup = 64;

}  // namespace

Status AttentionKernels::record_moe_route(vk::CommandBuffer& cmd, const RouteArgs& a, const StepView& step) {
  const std::string k = "moe_route";
  R1VK_TRY(detail::check_step(k, step));
  if (a.experts == 0 || a.experts > kMaxExperts)
    return detail::invalid(k, std::to_string(a.experts) + " experts (1.." + std::to_string(kMaxExperts) + " supported)");
  if (a.top_k == 0 || a.top_k > a.experts) return detail::invalid(k, "top_k must be in 1..experts");
  if (a.group_score > 2) return detail::invalid(k, "group_score must be 0, 1 or 2");
  if (a.group_score != 0 && a.n_group > 1) {
    if (a.n_group > kMaxGroups || a.experts % a.n_group != 0)
      return detail::invalid(k, "n_group must divide the experts and be at most 64");
    if (a.topk_group == 0 || a.topk_group > a.n_group) return detail::invalid(k, "topk_group must be in 1..n_group");
  }
  R1VK_TRY(detail::check_view(k, "logits", a.logits, a.experts));
  R1VK_TRY(detail::check_view(k, "ids", a.ids, a.top_k));
  R1VK_TRY(detail::check_view(k, "weights", a.weights, a.top_k));
  // Invocation 0's serial part: softmax, bias, groups (members, then topk_group passes), top-k passes.
  R1VK_TRY(detail::check_loop(k, uint64_t{a.experts} * (6 + a.top_k) + uint64_t{a.n_group} * (a.topk_group + 1) + 64));
  const RouteParams p{a.logits.addr, a.bias, a.ids.addr, a.weights.addr, step.params, a.counters,
                      a.logits.row_stride, a.ids.row_stride, a.weights.row_stride, a.experts, a.top_k,
                      a.n_group, a.topk_group, a.sigmoid ? 1u : 0u, a.group_score, a.normalize ? 1u : 0u,
                      a.bias ? 1u : 0u, a.counters ? 1u : 0u, a.scaling};
  return detail::record(cmd, pipelines_, "moe_route", {kRouteGroup}, p, step.max_tokens, k);
}

}  // namespace r1vk::kernels
