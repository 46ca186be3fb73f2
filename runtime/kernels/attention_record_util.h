// Recording helpers shared by the attention-family kernels (attention_kernels.h): push-constant
// bytes, the 2-D dispatch grid, argument checks that turn bad shapes into error values.
#pragma once

#include <algorithm>
#include <cstdint>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "kernels/pipeline_set.h"
#include "kernels/reduction_variant.h"
#include "kernels/views.h"
#include "vulkan/command_buffer.h"
#include "vulkan/kernel_variants.h"

namespace r1vk::kernels::detail {

template <typename T>
std::span<const std::byte> bytes_of(const T& v) {
  return std::as_bytes(std::span<const T, 1>(&v, 1));
}

inline Status invalid(const std::string& kernel, const std::string& what) {
  return make_error(ErrorCode::kInvalidArgument, kernel + ": " + what);
}

// An activation window must exist, hold `cols` values and fit its row stride.
inline Status check_view(const std::string& kernel, const char* role, const ActView& v, uint32_t cols) {
  if (v.addr == 0) return invalid(kernel, std::string(role) + " has no device address");
  if (v.cols != cols)
    return invalid(kernel, std::string(role) + " has " + std::to_string(v.cols) + " columns, expected " + std::to_string(cols));
  if (v.row_stride < v.cols) return invalid(kernel, std::string(role) + " row stride is smaller than its columns");
  return ok_status();
}

inline Status check_step(const std::string& kernel, const StepView& step) {
  if (step.params == 0) return invalid(kernel, "no StepParams address");
  if (step.max_tokens == 0) return invalid(kernel, "max_tokens must be positive");
  return ok_status();
}

// One (x, y) grid of `groups` workgroups within maxComputeWorkGroupCount; shaders read
// flat_group_id() and skip the padding.
inline Status dispatch_groups(vk::CommandBuffer& cmd, const vk::DeviceCaps& caps, uint64_t groups, const std::string& kernel) {
  if (groups == 0) return invalid(kernel, "nothing to dispatch");
  const uint64_t x = std::min<uint64_t>(groups, caps.max_workgroup_count[0]);
  const uint64_t y = (groups + x - 1) / x;
  if (y > caps.max_workgroup_count[1])
    return make_error(ErrorCode::kOutOfRange, kernel + ": " + std::to_string(groups) + " workgroups exceed the dispatch grid");
  cmd.dispatch(static_cast<uint32_t>(x), static_cast<uint32_t>(y));
  return ok_status();
}

// One pipeline bound, its push constants and `texel_views` (uniform texel buffers at bindings
// 0.., pushed as descriptors) set, `groups` workgroups dispatched.
template <typename Params>
Status record(vk::CommandBuffer& cmd, PipelineSet& set, const std::string& variant, const std::vector<uint32_t>& spec,
              const Params& params, uint64_t groups, const std::string& kernel,
              std::span<const VkBufferView> texel_views = {}) {
  R1VK_ASSIGN_OR_RETURN(const vk::ComputePipeline* p,
                        set.get(variant, spec, sizeof params, 0, static_cast<uint32_t>(texel_views.size())));
  cmd.bind(*p);
  if (!texel_views.empty()) cmd.push_storage_buffers(*p, {}, texel_views);
  cmd.push_constants(*p, bytes_of(params));
  return dispatch_groups(cmd, set.context().caps(), groups, kernel);
}

inline Status check_loop(const std::string& kernel, uint64_t trips) {
  if (trips < vk::kLoopIterationLimit) return ok_status();
  return make_error(ErrorCode::kOutOfRange, kernel + ": " + std::to_string(trips) +
                                                " loop trips per invocation (CPU drivers stop at 65535)");
}

}  // namespace r1vk::kernels::detail
