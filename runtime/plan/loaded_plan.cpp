#include "plan/loaded_plan.h"

#include <utility>

namespace r1vk::plan {

Result<LoadedPlan> LoadedPlan::open(const std::string& path) {
  LoadedPlan p;
  R1VK_ASSIGN_OR_RETURN(p.file_, PlanFile::open(path));
  auto m = manifest_from_json(p.file_.manifest());
  if (!m.ok()) return std::move(m).error().with_context(path);
  p.manifest_ = std::move(m).value();
  for (size_t i = 0; i < p.manifest_.tensors.size(); ++i) {
    const TensorEntry& t = p.manifest_.tensors[i];
    const std::string at = "tensor " + t.name;
    R1VK_TRY(p.file_.check_blob_range(t.data, at + " data"));
    R1VK_TRY(p.file_.check_blob_range(t.scales, at + " scales"));
  }
  return p;
}

Result<TensorBytes> LoadedPlan::tensor_bytes(size_t index) const {
  if (index >= manifest_.tensors.size()) return make_error(ErrorCode::kInternal, "tensor index out of range");
  const TensorEntry& t = manifest_.tensors[index];
  const size_t previous = last_handed_out_->exchange(index);
  if (previous != SIZE_MAX && previous != index && previous < manifest_.tensors.size()) {
    file_.release(manifest_.tensors[previous].data);
    file_.release(manifest_.tensors[previous].scales);
  }
  TensorBytes b;
  R1VK_ASSIGN_OR_RETURN(b.data, file_.verified_blob(t.data, "tensor " + t.name + " data"));
  R1VK_ASSIGN_OR_RETURN(b.scales, file_.verified_blob(t.scales, "tensor " + t.name + " scales"));
  return b;
}


Status LoadedPlan::stream_tensor(size_t index, uint64_t chunk,
                                 const std::function<Status(bool, uint64_t, std::span<const uint8_t>)>& fn) const {
  if (index >= manifest_.tensors.size()) return make_error(ErrorCode::kInternal, "tensor index out of range");
  const TensorEntry& t = manifest_.tensors[index];
  const size_t previous = last_handed_out_->exchange(SIZE_MAX);
  if (previous != SIZE_MAX && previous < manifest_.tensors.size()) {
    file_.release(manifest_.tensors[previous].data);
    file_.release(manifest_.tensors[previous].scales);
  }
  R1VK_TRY(file_.stream_blob(t.data, chunk, "tensor " + t.name + " data",
                             [&](uint64_t offset, std::span<const uint8_t> b) { return fn(false, offset, b); }));
  return file_.stream_blob(t.scales, chunk, "tensor " + t.name + " scales",
                           [&](uint64_t offset, std::span<const uint8_t> b) { return fn(true, offset, b); });
}

}  // namespace r1vk::plan
