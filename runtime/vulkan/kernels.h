// The foundation kernels (RMSNorm, residual add, SwiGLU, f16 GEMV, copy) as record_* calls on a
// CommandBuffer. Pipelines are created on first use for the variant kernel_variants.cpp picks
// and kept for the lifetime of this object. Every call checks its shapes against the buffers,
// so a wrong size is an error value, never an out-of-bounds GPU access.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "vulkan/buffer.h"
#include "vulkan/command_buffer.h"
#include "vulkan/compute_pipeline.h"
#include "vulkan/context.h"
#include "vulkan/kernel_variants.h"

namespace r1vk::vk {

class Kernels {
 public:
  explicit Kernels(Context& ctx);

  // y[r, :] = rmsnorm(x[r, :]) * weight for r < rows; all f32, row length dim.
  Status record_rmsnorm(CommandBuffer& cmd, const Buffer& x, const Buffer& weight, const Buffer& y, uint32_t rows,
                        uint32_t dim, float eps);
  // out = a + b over n f32 values (out may be a).
  Status record_add(CommandBuffer& cmd, const Buffer& a, const Buffer& b, const Buffer& out, uint32_t n);
  // out = silu(gate) * up over n f32 values.
  Status record_swiglu(CommandBuffer& cmd, const Buffer& gate, const Buffer& up, const Buffer& out, uint32_t n);
  // y = W x; W f16 row-major [rows, cols], x f32 [cols], y f32 [rows].
  Status record_gemv_f16(CommandBuffer& cmd, const Buffer& w, const Buffer& x, const Buffer& y, uint32_t rows,
                         uint32_t cols);
  // dst[0..bytes) = src[0..bytes); bytes a multiple of 32.
  Status record_copy(CommandBuffer& cmd, const Buffer& src, const Buffer& dst, uint64_t bytes);

  // Override the GEMV variant (benchmarks sweep it); validated on the next record call.
  void set_gemv_choice(const GemvChoice& choice) { gemv_ = choice; }
  const GemvChoice& gemv_choice() const { return gemv_; }

 private:
  Result<const ComputePipeline*> pipeline(const std::string& variant, std::vector<uint32_t> spec, uint32_t push_size,
                                          uint32_t storage_bindings = 0);
  // gemv_f16_lanes_desc: W bound in row slices no larger than maxStorageBufferRange.
  Status record_gemv_f16_sliced(CommandBuffer& cmd, const GemvChoice& c, const Buffer& w, const Buffer& x,
                                const Buffer& y, uint32_t rows, uint32_t cols);
  Status record_elementwise(CommandBuffer& cmd, const char* variant, const Buffer& a, const Buffer& b,
                            const Buffer& out, uint32_t n);
  // Splits a group count into an (x, y) grid within maxComputeWorkGroupCount.
  Status dispatch_groups(CommandBuffer& cmd, uint64_t groups) const;

  Context& ctx_;
  GemvChoice gemv_;
  std::map<std::string, ComputePipeline> pipelines_;
};

}  // namespace r1vk::vk
