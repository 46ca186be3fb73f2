#include "exec/model_weights.h"

#include <algorithm>
#include <cstdint>

#include "vulkan/transfer.h"

namespace r1vk::exec {
namespace {

constexpr uint64_t kTensorAlignment = 256;
constexpr uint64_t kMaxPageBytes = 1ull << 30;

uint64_t align(uint64_t v) { return (v + kTensorAlignment - 1) / kTensorAlignment * kTensorAlignment; }

}  // namespace

Result<ModelWeights> ModelWeights::upload(vk::Context& ctx, const plan::LoadedPlan& plan,
                                          const std::function<void(uint64_t, uint64_t)>& progress,
                                          const std::function<bool()>& cancelled, const std::vector<bool>& needed,
                                          const std::vector<bool>& on_host, uint64_t chunk_bytes) {
  const auto& tensors = plan.manifest().tensors;
  const vk::DeviceCaps& caps = ctx.caps();
  uint64_t page_limit = std::min<uint64_t>(kMaxPageBytes, caps.max_memory_allocation_size);
  if (caps.max_buffer_size) page_limit = std::min(page_limit, caps.max_buffer_size);

  if (!on_host.empty() && on_host.size() != tensors.size())
    return make_error(ErrorCode::kInternal, "host placement lists " + std::to_string(on_host.size()) + " tensors, the plan has " +
                                                std::to_string(tensors.size()));
  // Assign each tensor's data and scales a place, filling pages in order; device and host
  // tensors never share a page.
  struct Place {
    size_t page;
    uint64_t data, scales;
  };
  std::vector<Place> places(tensors.size());
  std::vector<uint64_t> page_sizes;
  std::vector<bool> page_on_host;
  size_t open_page[2] = {SIZE_MAX, SIZE_MAX};  // the page being filled, per memory
  uint64_t total = 0;
  auto skipped = [&](size_t i) { return !needed.empty() && !needed[i]; };
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (skipped(i)) continue;
    const bool host = !on_host.empty() && on_host[i];
    const uint64_t need = align(tensors[i].data.size) + align(tensors[i].scales.size);
    if (need > page_limit) {
      return make_error(ErrorCode::kOutOfRange, "tensor " + tensors[i].name + " needs " + std::to_string(need) +
                                                    " bytes, more than one device allocation allows (" +
                                                    std::to_string(page_limit) + ")");
    }
    size_t& page = open_page[host ? 1 : 0];
    if (page == SIZE_MAX || page_sizes[page] + need > page_limit) {
      page = page_sizes.size();
      page_sizes.push_back(0);
      page_on_host.push_back(host);
    }
    Place& p = places[i];
    p.page = page;
    p.data = page_sizes[page];
    p.scales = p.data + align(tensors[i].data.size);
    page_sizes[page] += need;
    total += tensors[i].data.size + tensors[i].scales.size;
  }

  ModelWeights w;
  for (size_t p = 0; p < page_sizes.size(); ++p) {
    const bool host = page_on_host[p];
    R1VK_ASSIGN_OR_RETURN(auto buf, ctx.create_buffer(std::max<uint64_t>(page_sizes[p], kTensorAlignment),
                                                      host ? vk::MemoryUsage::kHostResident : vk::MemoryUsage::kDeviceLocal,
                                                      (host ? "host weights page " : "weights page ") + std::to_string(p),
                                                      /*transfer_shared=*/host));  // the expert cache's swap copies read host pages
    if (host && !buf.host_visible()) return make_error(ErrorCode::kUnsupported, "host weights page is not host-visible");
    (host ? w.host_bytes_ : w.device_bytes_) += buf.size();
    w.pages_.push_back(std::move(buf));
  }
  uint64_t done = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (skipped(i)) {
      w.views_.emplace_back();
      w.locations_.emplace_back();
      continue;
    }
    const plan::TensorEntry& t = tensors[i];
    const vk::Buffer& page = w.pages_[places[i].page];
    // Piece by piece: the plan's resident pages stay at one chunk (the mapping's pages are
    // dropped after each), progress moves per chunk, and a cancel is seen within one chunk.
    auto put = [&](bool scales, uint64_t offset, std::span<const uint8_t> piece) -> Status {
      const uint64_t at = (scales ? places[i].scales : places[i].data) + offset;
      R1VK_TRY(vk::upload(ctx, page, at, std::as_bytes(piece)));
      done += piece.size();
      if (progress) progress(done, total);
      if (cancelled && cancelled()) return make_error(ErrorCode::kCancelled, "loading the model was cancelled");
      return ok_status();
    };
    R1VK_TRY(plan.stream_tensor(i, chunk_bytes, put));
    kernels::WeightView v;
    v.data = page.address() + places[i].data;
    v.scales = t.scales.size == 0 ? 0 : page.address() + places[i].scales;
    v.format = t.format;
    v.rows = static_cast<uint32_t>(t.rows);
    v.cols = static_cast<uint32_t>(t.cols);
    v.group = static_cast<uint32_t>(t.group);
    w.views_.push_back(v);
    w.locations_.push_back({page.handle(), places[i].data, places[i].scales, page_on_host[places[i].page]});
  }
  return w;
}

}  // namespace r1vk::exec
