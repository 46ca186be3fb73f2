// Opens a .r1vk plan: maps it, checks the header, the manifest checksum and every blob's bounds,
// and hands out blob bytes only after their checksum was verified.
#pragma once

#include <cstdint>
#include <functional>
#include <span>
#include <string>

#include "base/json_fields.h"
#include "base/mapped_file.h"
#include "base/status.h"
#include "plan/plan_format.h"

namespace r1vk::plan {

class PlanFile {
 public:
  static Result<PlanFile> open(const std::string& path);

  const json_fields::Json& manifest() const { return manifest_; }
  const std::string& path() const { return file_.path(); }
  uint64_t file_size() const { return file_.size(); }

  // Reads a BlobRef {offset, size, xxh64} stored at manifest path `where`, checking it lies
  // inside the blob area and is aligned.
  Result<BlobRef> blob_ref(const json_fields::Json& obj, const std::string& key, const std::string& where) const;
  // Checks a blob lies inside the blob area and is aligned.
  Status check_blob_range(const BlobRef& ref, const std::string& where) const;
  // The blob's bytes after verifying its checksum (reads the blob once).
  Result<std::span<const uint8_t>> verified_blob(const BlobRef& ref, const std::string& what) const;
  // Hands the blob to `fn` in pieces of at most `chunk` bytes (fn(offset in the blob, bytes)),
  // dropping each piece's pages from the resident set once fn returns, and checks the checksum
  // over the pieces as they pass (streaming XXH64). A mismatch is reported after the last piece,
  // so whatever fn did with the pieces must then be discarded. Resident pages of the mapping
  // stay at one piece whatever the blob's size. An error from fn stops the walk and is returned.
  Status stream_blob(const BlobRef& ref, uint64_t chunk, const std::string& what,
                     const std::function<Status(uint64_t, std::span<const uint8_t>)>& fn) const;
  // Drops the blob's pages from this process's resident set (MappedFile::release): its bytes
  // stay readable, faulted in again from the file on the next read.
  void release(const BlobRef& ref) const { file_.release(file_.bytes().subspan(ref.offset, ref.size)); }

 private:
  MappedFile file_;
  FileHeader header_{};
  json_fields::Json manifest_;
};

// Serialises a BlobRef for the manifest.
json_fields::Json blob_ref_json(const BlobRef& ref);

}  // namespace r1vk::plan
