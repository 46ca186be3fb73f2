#include "vulkan/pipeline_cache.h"

#include <unistd.h>

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <fstream>
#include <iterator>
#include <system_error>
#include <utility>
#include <vector>

#include "vulkan/vk_check.h"

namespace r1vk::vk {
namespace {

constexpr size_t kHeaderSize = 16 + VK_UUID_SIZE;

uint32_t read_u32(std::span<const std::byte> b, size_t off) {
  uint32_t v = 0;
  std::memcpy(&v, b.data() + off, sizeof v);
  return v;
}

std::string hex(uint32_t v) {
  char buf[16];
  std::snprintf(buf, sizeof buf, "%04x", v);
  return buf;
}

}  // namespace

std::string pipeline_cache_header_problem(std::span<const std::byte> blob, const DeviceCaps& caps) {
  if (blob.size() < kHeaderSize) return "file is " + std::to_string(blob.size()) + " bytes, shorter than the 32-byte header";
  const uint32_t header_size = read_u32(blob, 0);
  if (header_size < kHeaderSize || header_size > blob.size())
    return "header length field " + std::to_string(header_size) + " is invalid";
  if (read_u32(blob, 4) != VK_PIPELINE_CACHE_HEADER_VERSION_ONE)
    return "header version " + std::to_string(read_u32(blob, 4)) + " is unknown";
  if (read_u32(blob, 8) != caps.vendor_id || read_u32(blob, 12) != caps.device_id)
    return "written for device " + hex(read_u32(blob, 8)) + ":" + hex(read_u32(blob, 12)) + ", not this " +
           hex(caps.vendor_id) + ":" + hex(caps.device_id);
  if (std::memcmp(blob.data() + 16, caps.pipeline_cache_uuid, VK_UUID_SIZE) != 0)
    return "pipelineCacheUUID differs (written by another driver version)";
  return {};
}

std::filesystem::path default_pipeline_cache_path(const DeviceCaps& caps) {
  const std::string file = "pipelines-" + hex(caps.vendor_id) + "-" + hex(caps.device_id) + ".bin";
  if (const char* p = std::getenv("R1VK_PIPELINE_CACHE"); p && *p) return p;
  if (const char* x = std::getenv("XDG_CACHE_HOME"); x && *x) return std::filesystem::path(x) / "r1vk" / file;
  if (const char* h = std::getenv("HOME"); h && *h) return std::filesystem::path(h) / ".cache" / "r1vk" / file;
  return {};
}

Result<PipelineCache> PipelineCache::open(const Device& device, std::filesystem::path path) {
  PipelineCache pc;
  pc.device_ = device.handle();
  pc.path_ = std::move(path);
  std::vector<std::byte> blob;
  std::error_code ec;
  if (!pc.path_.empty() && std::filesystem::is_regular_file(pc.path_, ec)) {
    std::ifstream in(pc.path_, std::ios::binary);
    std::vector<char> chars((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
    blob.resize(chars.size());
    if (!chars.empty()) std::memcpy(blob.data(), chars.data(), chars.size());
    pc.rejected_ = in.bad() ? "could not be read" : pipeline_cache_header_problem(blob, device.caps());
    if (!pc.rejected_.empty()) {
      std::fprintf(stderr, "r1vk: warning: ignoring pipeline cache %s: %s\n", pc.path_.c_str(), pc.rejected_.c_str());
      blob.clear();
    }
  }
  VkPipelineCacheCreateInfo info{};
  info.sType = VK_STRUCTURE_TYPE_PIPELINE_CACHE_CREATE_INFO;
  info.initialDataSize = blob.size();
  info.pInitialData = blob.empty() ? nullptr : blob.data();
  VkResult r = vkCreatePipelineCache(pc.device_, &info, nullptr, &pc.cache_);
  if (r != VK_SUCCESS && !blob.empty()) {
    // A header that passes but a body the driver refuses: start empty rather than fail.
    pc.rejected_ = std::string("driver rejected the contents (") + vk_result_name(r) + ")";
    std::fprintf(stderr, "r1vk: warning: ignoring pipeline cache %s: %s\n", pc.path_.c_str(), pc.rejected_.c_str());
    info.initialDataSize = 0;
    info.pInitialData = nullptr;
    blob.clear();
    r = vkCreatePipelineCache(pc.device_, &info, nullptr, &pc.cache_);
  }
  R1VK_VK_TRY(r);
  pc.loaded_ = !blob.empty();
  return pc;
}

PipelineCache::PipelineCache(PipelineCache&& o) noexcept
    : device_(std::exchange(o.device_, VK_NULL_HANDLE)),
      cache_(std::exchange(o.cache_, VK_NULL_HANDLE)),
      path_(std::move(o.path_)),
      loaded_(o.loaded_),
      rejected_(std::move(o.rejected_)) {}

PipelineCache& PipelineCache::operator=(PipelineCache&& o) noexcept {
  if (this != &o) {
    if (cache_ != VK_NULL_HANDLE) vkDestroyPipelineCache(device_, cache_, nullptr);
    device_ = std::exchange(o.device_, VK_NULL_HANDLE);
    cache_ = std::exchange(o.cache_, VK_NULL_HANDLE);
    path_ = std::move(o.path_);
    loaded_ = o.loaded_;
    rejected_ = std::move(o.rejected_);
  }
  return *this;
}

PipelineCache::~PipelineCache() {
  if (cache_ != VK_NULL_HANDLE) vkDestroyPipelineCache(device_, cache_, nullptr);
}

Status PipelineCache::save() const {
  if (path_.empty() || cache_ == VK_NULL_HANDLE) return ok_status();
  size_t size = 0;
  R1VK_VK_TRY(vkGetPipelineCacheData(device_, cache_, &size, nullptr));
  std::vector<char> data(size);
  R1VK_VK_TRY(vkGetPipelineCacheData(device_, cache_, &size, data.data()));
  std::error_code ec;
  // Unchanged since it was read (no new pipeline, or another process saved the same): no write.
  // Drivers' cache data only grows as pipelines are added, so the size tells.
  if (std::filesystem::is_regular_file(path_, ec) && std::filesystem::file_size(path_, ec) == size && !ec) return ok_status();
  std::filesystem::create_directories(path_.parent_path(), ec);
  if (ec) return make_error(ErrorCode::kIo, "creating " + path_.parent_path().string() + ": " + ec.message());
  // A name of this process's own: several processes may save the default cache at once, and
  // each rename installs one whole file.
  const std::filesystem::path tmp = path_.string() + ".tmp." + std::to_string(::getpid());
  {
    std::ofstream out(tmp, std::ios::binary | std::ios::trunc);
    out.write(data.data(), static_cast<std::streamsize>(size));
    if (!out) return make_error(ErrorCode::kIo, "writing pipeline cache " + tmp.string());
  }
  std::filesystem::rename(tmp, path_, ec);
  if (ec) return make_error(ErrorCode::kIo, "renaming " + tmp.string() + " to " + path_.string() + ": " + ec.message());
  return ok_status();
}

}  // namespace r1vk::vk
