// On-disk VkPipelineCache (RAII). The file's header is checked against this device (size,
// version, vendor, device, pipelineCacheUUID) before the driver sees it: a stale, foreign or
// corrupt file is ignored with a warning and replaced on save, never a crash.
#pragma once

#include <vulkan/vulkan.h>

#include <cstddef>
#include <cstdint>
#include <filesystem>
#include <span>
#include <string>

#include "base/status.h"
#include "vulkan/device.h"

namespace r1vk::vk {

// Empty string when the blob's header fits `caps`, else why it does not.
std::string pipeline_cache_header_problem(std::span<const std::byte> blob, const DeviceCaps& caps);

// Default location: $R1VK_PIPELINE_CACHE, else $XDG_CACHE_HOME/r1vk/ or ~/.cache/r1vk/, one file
// per vendor:device. Empty path when no home directory is known (cache stays in memory).
std::filesystem::path default_pipeline_cache_path(const DeviceCaps& caps);

class PipelineCache {
 public:
  // `path` empty: in-memory only. A missing file is normal (first run); a bad one is warned about.
  static Result<PipelineCache> open(const Device& device, std::filesystem::path path);

  PipelineCache() = default;
  PipelineCache(PipelineCache&& other) noexcept;
  PipelineCache& operator=(PipelineCache&& other) noexcept;
  PipelineCache(const PipelineCache&) = delete;
  PipelineCache& operator=(const PipelineCache&) = delete;
  ~PipelineCache();

  VkPipelineCache handle() const { return cache_; }
  bool loaded_from_disk() const { return loaded_; }
  // Why the on-disk file was ignored (empty when it was used or absent).
  const std::string& rejected_reason() const { return rejected_; }
  // Writes the cache atomically (temp file + rename).
  Status save() const;

 private:
  VkDevice device_ = VK_NULL_HANDLE;
  VkPipelineCache cache_ = VK_NULL_HANDLE;
  std::filesystem::path path_;
  bool loaded_ = false;
  std::string rejected_;
};

}  // namespace r1vk::vk
