// A read-only memory map of a whole file: zero-copy access to checkpoints and plans.
#pragma once

#include <cstddef>
#include <cstdint>
#include <span>
#include <string>

#include "base/status.h"

namespace r1vk {

class MappedFile {
 public:
  static Result<MappedFile> open(const std::string& path);

  MappedFile() = default;
  MappedFile(MappedFile&& other) noexcept;
  MappedFile& operator=(MappedFile&& other) noexcept;
  MappedFile(const MappedFile&) = delete;
  MappedFile& operator=(const MappedFile&) = delete;
  ~MappedFile();

  std::span<const uint8_t> bytes() const { return {data_, size_}; }
  size_t size() const { return size_; }
  // Drops the pages holding `range` (a part of bytes(), rounded out to whole pages) from this
  // process's resident set. The mapping is read-only, so nothing is lost: a later read faults
  // the bytes in again, from the page cache while the kernel keeps them there. Streaming readers
  // (compile, load) call it once they are done with a range so their resident set stays bounded
  // instead of growing to the file's size. Ranges outside the mapping are clipped.
  void release(std::span<const uint8_t> range) const;
  const std::string& path() const { return path_; }

 private:
  void reset();

  const uint8_t* data_ = nullptr;
  size_t size_ = 0;
  std::string path_;
};

}  // namespace r1vk
