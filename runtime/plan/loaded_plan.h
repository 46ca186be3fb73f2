// A plan file opened for use: container checks, manifest parsed and validated, every tensor's
// blob range checked against the file. Tensor bytes are verified against their checksums when
// handed out (the runtime reads each blob once, on upload).
//
// Resident memory stays bounded while a loader walks the tensors: handing out a tensor releases
// the pages of the tensor handed out before it (PlanFile::release), so loading a plan keeps at
// most about one tensor's pages of the mapping resident instead of the whole file. Released
// bytes stay valid and readable (the mapping is read-only: a later read faults them in again),
// so a caller holding an earlier tensor's span only pays a re-read.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <memory>
#include <span>
#include <string>

#include "base/status.h"
#include "plan/manifest.h"
#include "plan/plan_file.h"

namespace r1vk::plan {

struct TensorBytes {
  std::span<const uint8_t> data;
  std::span<const uint8_t> scales;
};

class LoadedPlan {
 public:
  static Result<LoadedPlan> open(const std::string& path);

  const Manifest& manifest() const { return manifest_; }
  const PlanFile& file() const { return file_; }
  Result<TensorBytes> tensor_bytes(size_t index) const;
  // Tensor `index`'s data blob, then its scales blob, in pieces of at most `chunk` bytes
  // (PlanFile::stream_blob): fn(scales?, offset in the blob, bytes). Each piece's pages leave the
  // resident set after fn, so a loader keeps one piece of the plan resident instead of one
  // tensor (R1's q8 embedding alone is 0.98 GB). A checksum mismatch is reported after the
  // blob's last piece. Also releases the tensor tensor_bytes handed out last.
  Status stream_tensor(size_t index, uint64_t chunk,
                       const std::function<Status(bool, uint64_t, std::span<const uint8_t>)>& fn) const;

 private:
  PlanFile file_;
  Manifest manifest_;
  // The tensor handed out last (SIZE_MAX: none), shared by copies; atomic so concurrent readers
  // never release twice or skip a release.
  std::shared_ptr<std::atomic<size_t>> last_handed_out_ = std::make_shared<std::atomic<size_t>>(SIZE_MAX);
};

}  // namespace r1vk::plan
