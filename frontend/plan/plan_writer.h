// Writes a .r1vk plan container blob by blob (bounded memory: nothing but the bytes in hand is
// held) into `path`.partial.<pid>.<salt>.<n> (unique per writer, so concurrent compiles of the
// same plan into one cache do not clobber each other), then renames it into place once the manifest and header are down,
// so an interrupted compile never leaves a plausible-looking plan behind. The partial file is
// registered with base/temp_files.h, so SIGINT/SIGTERM remove it too; a partial file of the same
// plan whose writer died without a handler (SIGKILL, OOM) is removed by the next create() once
// its pid is gone and it is a minute old.
//
// A blob is either written whole (add_blob) or streamed: begin_blob reserves its aligned range
// at the end of the file, append() fills it in order, and end_blob checks it is full and returns
// its checksum. Several streamed blobs may be open at once (a tensor's data and scales), each
// filled at its own offset, so a tensor can be written slice by slice without holding it.
#pragma once

#include <cstdint>
#include <cstdio>
#include <memory>
#include <span>
#include <string>

#include "base/status.h"
#include "plan/plan_format.h"

namespace r1vk::plan {

// One reserved blob being filled (see PlanWriter::begin_blob). Move-only.
class BlobStream {
 public:
  BlobStream();
  BlobStream(BlobStream&&) noexcept;
  BlobStream& operator=(BlobStream&&) noexcept;
  ~BlobStream();

  uint64_t size() const { return size_; }
  uint64_t written() const { return written_; }

 private:
  friend class PlanWriter;
  struct Hash;
  uint64_t offset_ = 0;
  uint64_t size_ = 0;
  uint64_t written_ = 0;
  std::unique_ptr<Hash> hash_;  // running XXH64 of the bytes appended so far
};

class PlanWriter {
 public:
  static Result<PlanWriter> create(const std::string& path);

  PlanWriter(PlanWriter&& other) noexcept;
  PlanWriter& operator=(PlanWriter&&) = delete;
  PlanWriter(const PlanWriter&) = delete;
  PlanWriter& operator=(const PlanWriter&) = delete;
  ~PlanWriter();  // an unfinished plan is deleted

  // Appends one aligned blob and returns where it lives.
  Result<BlobRef> add_blob(std::span<const uint8_t> bytes);
  // Reserves an aligned blob of `size` bytes at the end of the file (the same place add_blob
  // would put it), to be filled by append() calls in order and closed by end_blob().
  Result<BlobStream> begin_blob(uint64_t size);
  // Writes the next bytes of a reserved blob; more than it has room for is an error.
  Status append(BlobStream& blob, std::span<const uint8_t> bytes);
  // The blob's reference; an error unless exactly its size was appended.
  Result<BlobRef> end_blob(BlobStream& blob);
  // Writes the manifest and the header, then moves the file into place.
  Status finish(const std::string& manifest_json);

  uint64_t bytes_written() const { return offset_; }

 private:
  PlanWriter(int fd, std::string path, std::string temp_path);
  Status write_at(uint64_t offset, std::span<const uint8_t> bytes);
  Status write_at_end(std::span<const uint8_t> bytes);

  int fd_ = -1;
  std::string path_;
  std::string temp_path_;  // this writer's own partial file, next to path_
  int temp_slot_ = -1;  // register_temp_file slot of the partial file
  uint64_t offset_ = 0;  // the end of the file: everything before it is written or reserved
  int open_blobs_ = 0;  // begun and not yet ended: finish() refuses while any is open
};

}  // namespace r1vk::plan
