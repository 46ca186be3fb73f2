#include "plan/plan_writer.h"

#include <fcntl.h>
#include <signal.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <filesystem>
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

// Partial files of `path` left by writers that were killed (SIGKILL, the OOM killer, a power
// cut: signals that run no handler) would stay forever, and for R1 one is hundreds of GB. A
// partial file is stale when the pid in its name is gone and it has not been written to for a
// minute (the age guards a cache shared with another machine, whose pids mean nothing here).
void sweep_stale_partials(const std::string& path) {
  namespace fs = std::filesystem;
  std::error_code ec;
  const fs::path target(path);
  const fs::path dir = target.has_parent_path() ? target.parent_path() : fs::path(".");
  const std::string prefix = target.filename().string() + ".partial.";
  const auto now = fs::file_time_type::clock::now();
  for (const auto& e : fs::directory_iterator(dir, ec)) {
    const std::string name = e.path().filename().string();
    if (name.rfind(prefix, 0) != 0) continue;
    const std::string rest = name.substr(prefix.size());
    const size_t dot = rest.find('.');
    if (dot == 0 || dot == std::string::npos || rest.find_first_not_of("0123456789") != dot || dot > 9) continue;
    const pid_t pid = static_cast<pid_t>(std::stol(rest.substr(0, dot)));
    if (pid == ::getpid() || ::kill(pid, 0) == 0 || errno != ESRCH) continue;  // alive, or not ours to judge
    std::error_code tec;
    const auto written = fs::last_write_time(e.path(), tec);
    if (tec || now - written < std::chrono::minutes(1)) continue;
    fs::remove(e.path(), tec);
  }
}

uint64_t padding(uint64_t offset) { return (kBlobAlignment - offset % kBlobAlignment) % kBlobAlignment; }

}  // namespace

struct BlobStream::Hash {
  XXH64_state_t* state = XXH64_createState();
  Hash() { XXH64_reset(state, 0); }
  ~Hash() { XXH64_freeState(state); }
  Hash(const Hash&) = delete;
  Hash& operator=(const Hash&) = delete;
};

BlobStream::BlobStream() = default;
BlobStream::BlobStream(BlobStream&&) noexcept = default;
BlobStream& BlobStream::operator=(BlobStream&&) noexcept = default;
BlobStream::~BlobStream() = default;

PlanWriter::PlanWriter(int fd, std::string path, std::string temp_path)
    : fd_(fd), path_(std::move(path)), temp_path_(std::move(temp_path)), temp_slot_(register_temp_file(temp_path_)) {}

PlanWriter::PlanWriter(PlanWriter&& other) noexcept
    : fd_(std::exchange(other.fd_, -1)),
      path_(std::move(other.path_)),
      temp_path_(std::move(other.temp_path_)),
      temp_slot_(std::exchange(other.temp_slot_, -1)),
      offset_(other.offset_),
      open_blobs_(other.open_blobs_) {}

PlanWriter::~PlanWriter() {
  if (fd_ >= 0) {
    ::close(fd_);
    std::remove(temp_path_.c_str());
  }
  unregister_temp_file(temp_slot_);
}

Result<PlanWriter> PlanWriter::create(const std::string& path) {
  sweep_stale_partials(path);
  std::string temp_path = unique_partial_path(path);
  // O_EXCL: fail rather than share a file should the name ever collide.
  const int fd = ::open(temp_path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0666);
  if (fd < 0) return make_error(ErrorCode::kIo, "cannot create " + temp_path + ": " + std::strerror(errno));
  PlanWriter w(fd, path, std::move(temp_path));
  const std::vector<uint8_t> placeholder(sizeof(FileHeader), 0);
  R1VK_TRY(w.write_at_end(placeholder));
  return w;
}

Status PlanWriter::write_at(uint64_t offset, std::span<const uint8_t> bytes) {
  while (!bytes.empty()) {
    const ssize_t n = ::pwrite(fd_, bytes.data(), bytes.size(), static_cast<off_t>(offset));
    if (n < 0 && errno == EINTR) continue;
    if (n <= 0) return make_error(ErrorCode::kIo, "writing " + temp_path_ + ": " + std::strerror(n < 0 ? errno : EIO));
    bytes = bytes.subspan(static_cast<size_t>(n));
    offset += static_cast<uint64_t>(n);
  }
  return ok_status();
}

Status PlanWriter::write_at_end(std::span<const uint8_t> bytes) {
  R1VK_TRY(write_at(offset_, bytes));
  offset_ += bytes.size();
  return ok_status();
}

Result<BlobStream> PlanWriter::begin_blob(uint64_t size) {
  if (fd_ < 0) return make_error(ErrorCode::kInternal, "plan writer already finished");
  // Zero padding up to the blob's aligned start, written now so the file has no holes.
  R1VK_TRY(write_at_end(std::vector<uint8_t>(padding(offset_), 0)));
  BlobStream blob;
  blob.offset_ = offset_;
  blob.size_ = size;
  blob.hash_ = std::make_unique<BlobStream::Hash>();
  offset_ += size;
  ++open_blobs_;
  return blob;
}

Status PlanWriter::append(BlobStream& blob, std::span<const uint8_t> bytes) {
  if (fd_ < 0 || !blob.hash_) return make_error(ErrorCode::kInternal, "appending to a blob that is not open");
  if (bytes.size() > blob.size_ - blob.written_) {
    return make_error(ErrorCode::kInternal, "blob of " + std::to_string(blob.size_) + " bytes overflows: " +
                                                std::to_string(blob.written_ + bytes.size()) + " appended");
  }
  R1VK_TRY(write_at(blob.offset_ + blob.written_, bytes));
  XXH64_update(blob.hash_->state, bytes.data(), bytes.size());
  blob.written_ += bytes.size();
  return ok_status();
}

Result<BlobRef> PlanWriter::end_blob(BlobStream& blob) {
  if (!blob.hash_) return make_error(ErrorCode::kInternal, "ending a blob that is not open");
  if (blob.written_ != blob.size_) {
    return make_error(ErrorCode::kInternal, "blob of " + std::to_string(blob.size_) + " bytes ended after " +
                                                std::to_string(blob.written_));
  }
  const BlobRef ref{blob.offset_, blob.size_, XXH64_digest(blob.hash_->state)};
  blob.hash_.reset();
  --open_blobs_;
  return ref;
}

Result<BlobRef> PlanWriter::add_blob(std::span<const uint8_t> bytes) {
  R1VK_ASSIGN_OR_RETURN(BlobStream blob, begin_blob(bytes.size()));
  R1VK_TRY(append(blob, bytes));
  return end_blob(blob);
}

Status PlanWriter::finish(const std::string& manifest_json) {
  if (fd_ < 0) return make_error(ErrorCode::kInternal, "plan writer already finished");
  if (open_blobs_ != 0) return make_error(ErrorCode::kInternal, std::to_string(open_blobs_) + " plan blobs were not completed");
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
  R1VK_TRY(write_at(0, {reinterpret_cast<const uint8_t*>(&h), sizeof(h)}));
  const bool closed = ::close(std::exchange(fd_, -1)) == 0;
  if (!closed || std::rename(temp_path_.c_str(), path_.c_str()) != 0) {
    const int err = errno;
    std::remove(temp_path_.c_str());
    return make_error(ErrorCode::kIo, "cannot move the plan into " + path_ + ": " + std::strerror(err));
  }
  unregister_temp_file(std::exchange(temp_slot_, -1));
  return ok_status();
}

}  // namespace r1vk::plan
