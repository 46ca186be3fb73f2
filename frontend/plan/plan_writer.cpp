#include "plan/plan_writer.h"

#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <random>
#include <utility>
#include <vector>

#include <xxhash.h>

#include "base/temp_files.h"

namespace r1vk::plan {
namespace {

// A temp name of its own for every writer, in the plan's directory so the final rename is atomic:
// two processes (or threads) compiling the same plan into a shared cache at once must not write
// into, or rename away, each other's file. Whichever rename lands last wins; both plans are
// complete, so a reader sees one whole plan either way.
std::string unique_partial_path(const std::string& path) {
  static std::atomic<uint64_t> counter{0};
  static const uint64_t salt = std::random_device{}();
  return path + ".partial." + std::to_string(::getpid()) + "." + std::to_string(salt % 1000000) + "." +
         std::to_string(counter.fetch_add(1));
}

}  // namespace

PlanWriter::PlanWriter(std::FILE* file, std::string path, std::string temp_path)
    : file_(file), path_(std::move(path)), temp_path_(std::move(temp_path)), temp_slot_(register_temp_file(temp_path_)) {}

PlanWriter::PlanWriter(PlanWriter&& other) noexcept
    : file_(std::exchange(other.file_, nullptr)),
      path_(std::move(other.path_)),
      temp_path_(std::move(other.temp_path_)),
      temp_slot_(std::exchange(other.temp_slot_, -1)),
      offset_(other.offset_) {}

PlanWriter::~PlanWriter() {
  if (file_ != nullptr) {
    std::fclose(file_);
    std::remove(temp_path_.c_str());
  }
  unregister_temp_file(temp_slot_);
}

Result<PlanWriter> PlanWriter::create(const std::string& path) {
  std::string temp_path = unique_partial_path(path);
  // "x": fail rather than share a file should the name ever collide.
  std::FILE* f = std::fopen(temp_path.c_str(), "wbx");
  if (f == nullptr) return make_error(ErrorCode::kIo, "cannot create " + temp_path + ": " + std::strerror(errno));
  PlanWriter w(f, path, std::move(temp_path));
  const std::vector<uint8_t> placeholder(sizeof(FileHeader), 0);
  R1VK_TRY(w.write_at_end(placeholder));
  return w;
}

Status PlanWriter::write_at_end(std::span<const uint8_t> bytes) {
  if (!bytes.empty() && std::fwrite(bytes.data(), 1, bytes.size(), file_) != bytes.size()) {
    return make_error(ErrorCode::kIo, "writing " + temp_path_ + ": " + std::strerror(errno));
  }
  offset_ += bytes.size();
  return ok_status();
}

Result<BlobRef> PlanWriter::add_blob(std::span<const uint8_t> bytes) {
  if (file_ == nullptr) return make_error(ErrorCode::kInternal, "plan writer already finished");
  const uint64_t pad = (kBlobAlignment - offset_ % kBlobAlignment) % kBlobAlignment;
  R1VK_TRY(write_at_end(std::vector<uint8_t>(pad, 0)));
  BlobRef ref{offset_, bytes.size(), XXH64(bytes.data(), bytes.size(), 0)};
  R1VK_TRY(write_at_end(bytes));
  return ref;
}

Status PlanWriter::finish(const std::string& manifest_json) {
  if (file_ == nullptr) return make_error(ErrorCode::kInternal, "plan writer already finished");
  if (manifest_json.size() > kMaxManifestBytes) {
    return make_error(ErrorCode::kOutOfRange, "plan manifest is " + std::to_string(manifest_json.size()) +
                                                  " bytes, above the format's limit");
  }
  FileHeader h{};
  std::memcpy(h.magic, kMagic, sizeof(kMagic));
  h.version = kFormatVersion;
  h.header_size = sizeof(FileHeader);
  h.manifest_offset = offset_;
  h.manifest_size = manifest_json.size();
  h.manifest_xxh64 = XXH64(manifest_json.data(), manifest_json.size(), 0);
  R1VK_TRY(write_at_end({reinterpret_cast<const uint8_t*>(manifest_json.data()), manifest_json.size()}));
  h.file_size = offset_;
  h.header_xxh64 = XXH64(&h, offsetof(FileHeader, header_xxh64), 0);
  if (std::fseek(file_, 0, SEEK_SET) != 0 || std::fwrite(&h, sizeof(h), 1, file_) != 1 || std::fflush(file_) != 0) {
    return make_error(ErrorCode::kIo, "writing the header of " + temp_path_ + ": " + std::strerror(errno));
  }
  const bool closed = std::fclose(file_) == 0;
  file_ = nullptr;
  if (!closed || std::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    const int err = errno;
    std::remove(temp_path_.c_str());
    return make_error(ErrorCode::kIo, "cannot move the plan into " + path_ + ": " + std::strerror(err));
  }
  unregister_temp_file(std::exchange(temp_slot_, -1));
  return ok_status();
}

}  // namespace r1vk::plan
