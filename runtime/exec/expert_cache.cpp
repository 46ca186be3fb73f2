#include "exec/expert_cache.h"

#include <algorithm>
#include <array>
#include <cstring>
#include <limits>
#include <numeric>

namespace r1vk::exec {
namespace {

constexpr uint64_t kAlignment = 256;  // ModelWeights' tensor alignment: a slot has a page's layout
constexpr uint64_t kMaxSlotPageBytes = 1ull << 30;
// A host expert replaces a slot's occupant only when its score beats the occupant's by this
// factor plus this many uses: two experts of about the same heat do not trade places every step.
constexpr double kSwapFactor = 1.25;
constexpr double kSwapMargin = 0.5;

uint64_t align(uint64_t v) { return (v + kAlignment - 1) / kAlignment * kAlignment; }

// The four parts of an expert in slot layout: gate_up data, gate_up scales, down data, down scales.
struct Part {
  VkBuffer src;
  uint64_t src_offset, dst_offset, size;
};

std::array<Part, 4> parts(const plan::Manifest& m, const ModelWeights& w, const ExpertUnit& u) {
  const plan::TensorEntry& gu = m.tensors[static_cast<size_t>(u.gate_up)];
  const plan::TensorEntry& dn = m.tensors[static_cast<size_t>(u.down)];
  const TensorLocation& lg = w.location(static_cast<size_t>(u.gate_up));
  const TensorLocation& ld = w.location(static_cast<size_t>(u.down));
  const uint64_t gu_scales = align(gu.data.size), dn_data = gu_scales + align(gu.scales.size);
  return {Part{lg.page, lg.data, 0, gu.data.size}, Part{lg.page, lg.scales, gu_scales, gu.scales.size},
          Part{ld.page, ld.data, dn_data, dn.data.size}, Part{ld.page, ld.scales, dn_data + align(dn.data.size), dn.scales.size}};
}

// Makes transfer writes (the counter snapshot) visible to the host once the submit has finished.
void host_read_barrier(const vk::CommandBuffer& cmd) {
  VkMemoryBarrier b{};
  b.sType = VK_STRUCTURE_TYPE_MEMORY_BARRIER;
  b.srcAccessMask = VK_ACCESS_TRANSFER_WRITE_BIT;
  b.dstAccessMask = VK_ACCESS_HOST_READ_BIT;
  vkCmdPipelineBarrier(cmd.handle(), VK_PIPELINE_STAGE_TRANSFER_BIT, VK_PIPELINE_STAGE_HOST_BIT, 0, 1, &b, 0, nullptr, 0, nullptr);
}

}  // namespace

Result<std::unique_ptr<ExpertCache>> ExpertCache::create(vk::Context& ctx, const plan::Manifest& m, const ModelWeights& weights,
                                                          std::vector<Unit> units, const vk::Buffer& counters,
                                                          uint64_t counter_words, const ExpertCounts& seed,
                                                          const ExpertCacheOptions& options) {
  std::unique_ptr<ExpertCache> c(new ExpertCache(ctx));
  c->manifest_ = &m;
  c->weights_ = &weights;
  c->options_ = options;
  c->units_ = std::move(units);
  c->slot_bytes_ = align(std::max<uint64_t>(options.slot_bytes, 1));
  c->counters_ = counters.handle();
  c->counter_bytes_ = counter_words * 4;
  const size_t n = c->units_.size();
  c->slot_of_.assign(n, -1);
  c->baseline_.assign(counter_words, 0);
  for (const Unit& u : c->units_) {
    const kernels::WeightView& gu = weights.view(static_cast<size_t>(u.unit.gate_up));
    const kernels::WeightView& dn = weights.view(static_cast<size_t>(u.unit.down));
    c->host_.push_back({gu.data, gu.scales, dn.data, dn.scales});
    if (u.unit.bytes > c->slot_bytes_) {
      return make_error(ErrorCode::kInternal, "expert cache slots of " + std::to_string(c->slot_bytes_) +
                                                  " bytes cannot hold an expert of " + std::to_string(u.unit.bytes));
    }
    if (!u.resident && !weights.location(static_cast<size_t>(u.unit.gate_up)).on_host) {
      return make_error(ErrorCode::kInternal, "a cached expert must live in host memory");
    }
  }
  // Scores start from the calibration counts (calibration_scores: the file's shares as a steady state).
  {
    std::vector<ExpertUnit> placed;
    std::vector<uint32_t> top_k;
    for (const Unit& u : c->units_) {
      placed.push_back(u.unit);
      top_k.push_back(u.top_k);
    }
    c->score_ = calibration_scores(m, placed, top_k, seed, options.decay);
  }

  // Slot pages, each within one allocation.
  const vk::DeviceCaps& caps = ctx.caps();
  uint64_t page_limit = std::min<uint64_t>(kMaxSlotPageBytes, caps.max_memory_allocation_size);
  if (caps.max_buffer_size) page_limit = std::min(page_limit, caps.max_buffer_size);
  c->slots_per_page_ = static_cast<uint32_t>(std::max<uint64_t>(1, page_limit / c->slot_bytes_));
  c->occupant_.assign(options.slots, -1);
  for (uint32_t first = 0; first < options.slots; first += c->slots_per_page_) {
    const uint32_t count = std::min(c->slots_per_page_, options.slots - first);
    R1VK_ASSIGN_OR_RETURN(auto page, ctx.create_buffer(uint64_t{count} * c->slot_bytes_, vk::MemoryUsage::kDeviceLocal,
                                                       "expert cache slots " + std::to_string(first)));
    c->pages_.push_back(std::move(page));
  }
  // The first host experts in the load's ranking fill the slots.
  if (options.slots > 0) {
    R1VK_ASSIGN_OR_RETURN(auto cmd, ctx.create_command_buffer());
    R1VK_TRY(cmd.begin());
    uint32_t slot = 0;
    for (uint32_t i = 0; i < n && slot < options.slots; ++i) {
      if (c->units_[i].resident) continue;
      c->record_fill(cmd, i, slot);
      c->slot_of_[i] = static_cast<int32_t>(slot);
      c->occupant_[slot] = static_cast<int32_t>(i);
      ++slot;
    }
    cmd.compute_barrier();
    for (uint32_t s = 0; s < slot; ++s) {
      const auto u = static_cast<uint32_t>(c->occupant_[s]);
      c->record_table_write(cmd, u, c->slot_addresses(u, s));
    }
    cmd.compute_barrier();
    R1VK_TRY(cmd.end());
    R1VK_TRY(ctx.submit_and_wait(cmd));
  }
  c->on_device(c->in_effect_);
  return c;
}

ExpertCache::~ExpertCache() {
  // Command buffers and slots may still be in use by the device.
  uint64_t last = copy_.value;
  for (const Round& r : rounds_) last = std::max(last, r.value);
  if (last) (void)ctx_.wait(last);
}

VkDeviceAddress ExpertCache::slot_address(uint32_t slot) const {
  return pages_[slot / slots_per_page_].address() + uint64_t{slot % slots_per_page_} * slot_bytes_;
}

kernels::ExpertAddresses ExpertCache::slot_addresses(uint32_t unit, uint32_t slot) const {
  const VkDeviceAddress base = slot_address(slot);
  const auto p = parts(*manifest_, *weights_, units_[unit].unit);
  // An empty part (no scales) keeps address 0, as the load's views do.
  auto at = [&](const Part& part) { return part.size ? base + part.dst_offset : VkDeviceAddress{0}; };
  return {at(p[0]), at(p[1]), at(p[2]), at(p[3])};
}

void ExpertCache::record_fill(vk::CommandBuffer& cmd, uint32_t unit, uint32_t slot) const {
  const vk::Buffer& page = pages_[slot / slots_per_page_];
  const uint64_t base = uint64_t{slot % slots_per_page_} * slot_bytes_;
  for (const Part& p : parts(*manifest_, *weights_, units_[unit].unit)) {
    if (p.size) cmd.copy_buffer(p.src, p.src_offset, page.handle(), base + p.dst_offset, p.size);
  }
}

void ExpertCache::record_table_write(vk::CommandBuffer& cmd, uint32_t unit, const kernels::ExpertAddresses& a) const {
  vkCmdUpdateBuffer(cmd.handle(), units_[unit].table, units_[unit].table_offset, sizeof(a), &a);
}

void ExpertCache::on_device(std::vector<bool>& out) const {
  out.resize(units_.size());
  for (size_t i = 0; i < units_.size(); ++i) out[i] = units_[i].resident || slot_of_[i] >= 0;
}

std::vector<int32_t> ExpertCache::occupants() const {
  std::lock_guard lock(mu_);
  return occupant_;
}

ExpertCacheStats ExpertCache::stats() const {
  std::lock_guard lock(mu_);
  ExpertCacheStats s = stats_;
  for (const auto& [op, uses] : op_uses_) {
    const auto k = manifest_->main.ops[op].ints.find("top_k");
    if (k != manifest_->main.ops[op].ints.end() && k->second > 0) s.tokens = std::max(s.tokens, uses / static_cast<uint64_t>(k->second));
  }
  return s;
}

Status ExpertCache::retire_rounds(bool wait) {
  while (!rounds_.empty()) {
    Round& r = rounds_.front();
    if (wait) {
      R1VK_TRY(ctx_.wait(r.value));
    } else {
      R1VK_ASSIGN_OR_RETURN(bool done, ctx_.is_complete(r.value));
      if (!done) break;
    }
    R1VK_TRY(ctx_.allocator().invalidate(r.snapshot.allocation(), 0, r.snapshot.size()));
    // Reused scratch: no allocation per step once the cache is running.
    std::vector<uint32_t>& now = snapshot_;
    now.resize(baseline_.size());
    if (!now.empty()) std::memcpy(now.data(), r.snapshot.mapped().data(), now.size() * 4);
    // Uses since the previous round ran with the placement that round left (in_effect_).
    for (double& s : score_) s *= options_.decay;
    for (size_t i = 0; i < units_.size(); ++i) {
      const Unit& u = units_[i];
      if (u.counter < 0) continue;
      const auto w = static_cast<size_t>(u.counter);
      const uint64_t d = now[w] >= baseline_[w] ? now[w] - baseline_[w] : now[w];
      score_[i] += static_cast<double>(d);
      if (u.unit.program != 0 || d == 0) continue;
      stats_.uses += d;
      stats_.bytes += d * u.unit.read_bytes;
      op_uses_[u.unit.op] += d;
      if (!in_effect_[i]) {
        stats_.host_bytes += d * u.unit.read_bytes;
      } else if (u.resident) {
        stats_.resident_uses += d;
      } else {
        stats_.slot_uses += d;
      }
    }
    std::swap(baseline_, now);
    std::swap(in_effect_, r.on_device_after);  // the free round keeps a vector to refill
    r.value = 0;
    free_rounds_.push_back(std::move(r));
    rounds_.erase(rounds_.begin());  // one or two in flight: a vector, so no node allocations
  }
  return ok_status();
}

void ExpertCache::install_finished_copy() {
  for (const auto& [u, s] : copy_.installs) {
    slot_of_[u] = static_cast<int32_t>(s);
    occupant_[s] = static_cast<int32_t>(u);
    table_writes_.emplace_back(u, slot_addresses(u, s));
  }
  copy_.installs.clear();
  copy_.value = 0;
}

const std::vector<std::pair<uint32_t, uint32_t>>& ExpertCache::choose_swaps() {
  // Member scratch and a partial sort of the few that can swap: nothing is allocated per step
  // once the vectors have grown, and only `limit` candidates and victims are ordered. Ties go
  // to the lower index, the order a stable sort of the index-ordered lists gives.
  swaps_.clear();
  candidates_.clear();
  for (uint32_t i = 0; i < units_.size(); ++i)
    if (!units_[i].resident && slot_of_[i] < 0 && score_[i] > 0) candidates_.push_back(i);
  if (candidates_.empty()) return swaps_;
  victims_.resize(occupant_.size());
  std::iota(victims_.begin(), victims_.end(), 0u);
  auto victim_score = [&](uint32_t s) {
    return occupant_[s] < 0 ? -std::numeric_limits<double>::infinity() : score_[static_cast<size_t>(occupant_[s])];
  };
  const uint32_t limit =
      options_.max_swaps_per_round ? options_.max_swaps_per_round : std::max<uint32_t>(1, slots() / 4);
  const auto top = static_cast<std::ptrdiff_t>(std::min<size_t>({limit, candidates_.size(), victims_.size()}));
  std::partial_sort(candidates_.begin(), candidates_.begin() + top, candidates_.end(), [&](uint32_t a, uint32_t b) {
    return score_[a] > score_[b] || (score_[a] == score_[b] && a < b);
  });
  std::partial_sort(victims_.begin(), victims_.begin() + top, victims_.end(), [&](uint32_t a, uint32_t b) {
    const double sa = victim_score(a), sb = victim_score(b);
    return sa < sb || (sa == sb && a < b);
  });
  for (std::ptrdiff_t i = 0; i < top; ++i) {
    const uint32_t c = candidates_[static_cast<size_t>(i)], s = victims_[static_cast<size_t>(i)];
    if (occupant_[s] >= 0 && score_[c] <= victim_score(s) * kSwapFactor + kSwapMargin) break;
    swaps_.emplace_back(c, s);
  }
  return swaps_;
}

Status ExpertCache::submit_round(const std::vector<std::pair<uint32_t, uint32_t>>& swaps) {
  // Evict the victims: their entries go back to host memory in this round, before the copy
  // that overwrites their slots is submitted.
  for (const auto& [u, s] : swaps) {
    const int32_t victim = occupant_[s];
    if (victim >= 0) {
      slot_of_[static_cast<size_t>(victim)] = -1;
      table_writes_.emplace_back(static_cast<uint32_t>(victim), host_[static_cast<size_t>(victim)]);
    }
    occupant_[s] = -1;  // being filled: nobody reads it until the install
  }
  Round r;
  if (!free_rounds_.empty()) {
    r = std::move(free_rounds_.back());
    free_rounds_.pop_back();
    R1VK_TRY(r.cmd.reset());
  } else {
    R1VK_ASSIGN_OR_RETURN(r.cmd, ctx_.create_command_buffer());
    R1VK_ASSIGN_OR_RETURN(r.snapshot, ctx_.create_buffer(std::max<uint64_t>(counter_bytes_, 16), vk::MemoryUsage::kHostVisible,
                                                         "expert cache counter snapshot"));
  }
  R1VK_TRY(r.cmd.begin());
  // After the earlier steps: their counter atomics are complete and their table reads done.
  r.cmd.compute_barrier();
  for (const auto& [u, a] : table_writes_) record_table_write(r.cmd, u, a);
  if (counter_bytes_) r.cmd.copy_buffer(counters_, 0, r.snapshot.handle(), 0, counter_bytes_);
  host_read_barrier(r.cmd);
  // The later steps read the new table.
  r.cmd.compute_barrier();
  R1VK_TRY(r.cmd.end());
  R1VK_ASSIGN_OR_RETURN(r.value, ctx_.submit(r.cmd));
  table_writes_.clear();
  on_device(r.on_device_after);  // reuses the free round's vector
  rounds_.push_back(std::move(r));
  ++stats_.rounds;
  if (swaps.empty()) return ok_status();

  // The copy: after this round (and so after every step that could read the victims' slots,
  // its leading barrier orders it after all earlier submits); the host does not wait for it.
  if (copy_.cmd.handle() == VK_NULL_HANDLE) {
    R1VK_ASSIGN_OR_RETURN(copy_.cmd, ctx_.create_command_buffer());
  } else {
    R1VK_TRY(copy_.cmd.reset());
  }
  R1VK_TRY(copy_.cmd.begin());
  copy_.cmd.compute_barrier();
  for (const auto& [u, s] : swaps) {
    record_fill(copy_.cmd, u, s);
    stats_.swap_bytes += units_[u].unit.read_bytes;
  }
  R1VK_TRY(copy_.cmd.end());
  R1VK_ASSIGN_OR_RETURN(copy_.value, ctx_.submit(copy_.cmd));
  copy_.installs = swaps;
  stats_.swaps += swaps.size();
  return ok_status();
}

Status ExpertCache::before_step() {
  std::lock_guard lock(mu_);
  R1VK_TRY(retire_rounds(false));
  if (copy_.value) {
    R1VK_ASSIGN_OR_RETURN(bool done, ctx_.is_complete(copy_.value));
    if (done) install_finished_copy();
  }
  if (copy_.value) {
    swaps_.clear();
    R1VK_TRY(submit_round(swaps_));
  } else {
    R1VK_TRY(submit_round(choose_swaps()));
  }
  if (copy_.value) ++stats_.overlapped;
  return ok_status();
}

Status ExpertCache::flush() {
  std::lock_guard lock(mu_);
  if (copy_.value) {
    R1VK_TRY(ctx_.wait(copy_.value));
    install_finished_copy();
  }
  swaps_.clear();
  R1VK_TRY(submit_round(swaps_));
  return retire_rounds(true);
}

void ExpertCache::counters_reset() {
  std::lock_guard lock(mu_);
  std::fill(baseline_.begin(), baseline_.end(), 0u);
  stats_ = {};
  op_uses_.clear();
}

}  // namespace r1vk::exec
