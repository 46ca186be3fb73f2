// A plan file opened for use: container checks, manifest parsed and validated, every tensor's
// blob range checked against the file. Tensor bytes are verified against their checksums when
// first handed out (the runtime reads each blob once, on upload).
#pragma once

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

 private:
  PlanFile file_;
  Manifest manifest_;
};

}  // namespace r1vk::plan
