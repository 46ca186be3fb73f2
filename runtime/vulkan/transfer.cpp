#include "vulkan/transfer.h"

#include <algorithm>
#include <cstring>
#include <string>

namespace r1vk::vk {
namespace {

Status check_range(const Buffer& b, VkDeviceSize offset, size_t size, const char* what) {
  if (offset > b.size() || size > b.size() - offset)
    return make_error(ErrorCode::kOutOfRange, std::string(what) + " of " + std::to_string(size) + " bytes at offset " +
                                                  std::to_string(offset) + " overruns buffer " + b.name() + " (" +
                                                  std::to_string(b.size()) + " bytes)");
  return ok_status();
}

// Records and runs one copy between two buffers.
Status copy_now(Context& ctx, VkBuffer src, VkDeviceSize src_off, VkBuffer dst, VkDeviceSize dst_off, VkDeviceSize size) {
  R1VK_ASSIGN_OR_RETURN(auto cmd, ctx.create_command_buffer());
  R1VK_TRY(cmd.begin());
  cmd.copy_buffer(src, src_off, dst, dst_off, size);
  R1VK_TRY(cmd.end());
  return ctx.submit_and_wait(cmd);
}

}  // namespace

Status upload(Context& ctx, const Buffer& dst, VkDeviceSize dst_offset, std::span<const std::byte> data,
              const TransferOptions& options) {
  R1VK_TRY(check_range(dst, dst_offset, data.size(), "upload"));
  if (data.empty()) return ok_status();
  if (dst.host_visible() && !options.force_staging) {
    std::memcpy(dst.mapped().data() + dst_offset, data.data(), data.size());
    return ctx.allocator().flush(dst.allocation(), dst_offset, data.size());
  }
  const VkDeviceSize chunk = std::min<VkDeviceSize>(options.staging_chunk, data.size());
  R1VK_ASSIGN_OR_RETURN(auto staging, ctx.create_buffer(chunk, MemoryUsage::kHostVisible, "staging for " + dst.name()));
  if (!staging.host_visible()) return make_error(ErrorCode::kUnsupported, "staging buffer is not host-visible");
  for (size_t done = 0; done < data.size(); done += chunk) {
    const size_t n = std::min<size_t>(chunk, data.size() - done);
    std::memcpy(staging.mapped().data(), data.data() + done, n);
    R1VK_TRY(ctx.allocator().flush(staging.allocation(), 0, n));
    R1VK_TRY(copy_now(ctx, staging.handle(), 0, dst.handle(), dst_offset + done, n));
  }
  return ok_status();
}

Status download(Context& ctx, const Buffer& src, VkDeviceSize src_offset, std::span<std::byte> out,
                const TransferOptions& options) {
  R1VK_TRY(check_range(src, src_offset, out.size(), "download"));
  if (out.empty()) return ok_status();
  if (src.host_visible() && !options.force_staging) {
    R1VK_TRY(ctx.allocator().invalidate(src.allocation(), src_offset, out.size()));
    std::memcpy(out.data(), src.mapped().data() + src_offset, out.size());
    return ok_status();
  }
  const VkDeviceSize chunk = std::min<VkDeviceSize>(options.staging_chunk, out.size());
  R1VK_ASSIGN_OR_RETURN(auto staging, ctx.create_buffer(chunk, MemoryUsage::kHostVisible, "read-back for " + src.name()));
  if (!staging.host_visible()) return make_error(ErrorCode::kUnsupported, "read-back buffer is not host-visible");
  for (size_t done = 0; done < out.size(); done += chunk) {
    const size_t n = std::min<size_t>(chunk, out.size() - done);
    R1VK_TRY(copy_now(ctx, src.handle(), src_offset + done, staging.handle(), 0, n));
    R1VK_TRY(ctx.allocator().invalidate(staging.allocation(), 0, n));
    std::memcpy(out.data() + done, staging.mapped().data(), n);
  }
  return ok_status();
}

}  // namespace r1vk::vk
