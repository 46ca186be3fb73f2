// Host <-> buffer copies. A host-visible buffer is written through its mapping (flushed to
// nonCoherentAtomSize); any other buffer goes through a host-visible staging buffer in bounded
// chunks and a vkCmdCopyBuffer, so device-local VRAM works the same as lavapipe's shared memory.
#pragma once

#include <cstddef>
#include <span>

#include "base/status.h"
#include "vulkan/context.h"

namespace r1vk::vk {

struct TransferOptions {
  bool force_staging = false;            // tests use it to exercise the staging path on lavapipe
  VkDeviceSize staging_chunk = 64ull << 20;
};

Status upload(Context& ctx, const Buffer& dst, VkDeviceSize dst_offset, std::span<const std::byte> data,
              const TransferOptions& options = {});
Status download(Context& ctx, const Buffer& src, VkDeviceSize src_offset, std::span<std::byte> out,
                const TransferOptions& options = {});

template <typename T>
Status upload_span(Context& ctx, const Buffer& dst, std::span<const T> values, const TransferOptions& options = {}) {
  return upload(ctx, dst, 0, std::as_bytes(values), options);
}

template <typename T>
Status download_span(Context& ctx, const Buffer& src, std::span<T> values, const TransferOptions& options = {}) {
  return download(ctx, src, 0, std::as_writable_bytes(values), options);
}

}  // namespace r1vk::vk
