// Writes a .r1vk plan container blob by blob (bounded memory: nothing but the blob in hand is
// held) into `path`.partial.<pid>.<salt>.<n> (unique per writer, so concurrent compiles of the
// same plan into one cache do not clobber each other), then renames it into place once the manifest and header are down,
// so an interrupted compile never leaves a plausible-looking plan behind. The partial file is
// registered with base/temp_files.h, so SIGINT/SIGTERM remove it too.
#pragma once

#include <cstdint>
#include <cstdio>
#include <span>
#include <string>

#include "base/status.h"
#include "plan/plan_format.h"

namespace r1vk::plan {

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
  // Writes the manifest and the header, then moves the file into place.
  Status finish(const std::string& manifest_json);

  uint64_t bytes_written() const { return offset_; }

 private:
  PlanWriter(std::FILE* file, std::string path, std::string temp_path);
  Status write_at_end(std::span<const uint8_t> bytes);

  std::FILE* file_ = nullptr;
  std::string path_;
  std::string temp_path_;  // this writer's own partial file, next to path_
  int temp_slot_ = -1;  // register_temp_file slot of the partial file
  uint64_t offset_ = 0;
};

}  // namespace r1vk::plan
