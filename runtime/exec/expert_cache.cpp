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

Result<std::unique_ptr<ExpertCache>> ExpertCache::create(vk::Context& ctx, kernels::PipelineSet& pipelines,
                                                          const plan::Manifest& m, const ModelWeights& weights,
                                                          std::vector<Unit> units, const vk::Buffer& counters,
                                                          uint64_t counter_words, const ExpertCounts& seed,
                                                          const ExpertCacheOptions& options) {
  std::unique_ptr<ExpertCache> c(new ExpertCache(ctx, pipelines));
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
  c->lent_.assign(options.slots, false);
  c->filling_.assign(options.slots, false);
  for (uint32_t first = 0; first < options.slots; first += c->slots_per_page_) {
    const uint32_t count = std::min(c->slots_per_page_, options.slots - first);
    // Written by the swap copies on the transfer queue, read by the steps' kernels.
    R1VK_ASSIGN_OR_RETURN(auto page, ctx.create_buffer(uint64_t{count} * c->slot_bytes_, vk::MemoryUsage::kDeviceLocal,
                                                       "expert cache slots " + std::to_string(first), /*transfer_shared=*/true));
    c->pages_.push_back(std::move(page));
  }
  // The first host experts in the load's ranking fill the slots. With in-step copies only
  // those a calibration file made warm, leaving the free reserve: the steps fill the rest.
  if (options.slots > 0) {
    R1VK_ASSIGN_OR_RETURN(auto cmd, ctx.create_command_buffer());
    R1VK_TRY(cmd.begin());
    uint32_t slot = 0;
    const uint32_t prefill = options.in_step_copies ? options.slots - std::min(options.slots, c->free_reserve()) : options.slots;
    for (uint32_t i = 0; i < n && slot < prefill; ++i) {
      if (c->units_[i].resident || (options.in_step_copies && c->score_[i] <= 0)) continue;
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
    if (options.in_step_copies) R1VK_TRY(c->create_in_step_buffers(cmd));
    cmd.compute_barrier();
    R1VK_TRY(cmd.end());
    R1VK_TRY(ctx.submit_and_wait(cmd));
  }
  // Counters, then (in-step copies) the fill state's header and log.
  const uint64_t log_bytes = options.in_step_copies ? sizeof(kernels::FillStateHeader) + uint64_t{c->ring_cap_} * 8 : 0;
  R1VK_ASSIGN_OR_RETURN(c->step_snapshot_, ctx.create_buffer(std::max<uint64_t>(c->log_snapshot_offset() + log_bytes, 16),
                                                             vk::MemoryUsage::kHostVisible, "expert cache counter snapshot"));
  c->on_device(c->in_effect_);
  c->logged_.assign(n, false);
  return c;
}

Status ExpertCache::record_step_end(vk::CommandBuffer& cmd) const {
  // After the step's atomics and fills (and the previous step's snapshot copy: write after write).
  cmd.compute_barrier();
  if (counter_bytes_) cmd.copy_buffer(counters_, 0, step_snapshot_.handle(), 0, counter_bytes_);
  if (options_.in_step_copies) {
    constexpr uint64_t kHeader = sizeof(kernels::FillStateHeader);
    const uint64_t log_at = kHeader + uint64_t{ring_cap_} * sizeof(kernels::FillRingEntry);
    cmd.copy_buffer(state_.handle(), 0, step_snapshot_.handle(), log_snapshot_offset(), kHeader);
    cmd.copy_buffer(state_.handle(), log_at, step_snapshot_.handle(), log_snapshot_offset() + kHeader, uint64_t{ring_cap_} * 8);
  }
  host_read_barrier(cmd);
  return ok_status();
}

void ExpertCache::step_submitted(uint64_t value) {
  std::lock_guard lock(mu_);
  last_step_ = value;
  last_compute_ = std::max(last_compute_, value);
  snapshot_unread_ = true;
}

uint32_t ExpertCache::free_reserve() const {
  return options_.free_reserve ? options_.free_reserve : std::max<uint32_t>(1, slots() / 4);
}

void ExpertCache::update(vk::CommandBuffer& cmd, VkBuffer buffer, uint64_t offset, const void* data, uint64_t bytes) {
  constexpr uint64_t kMaxUpdate = 65536;  // vkCmdUpdateBuffer's limit
  const auto* p = static_cast<const std::byte*>(data);
  for (uint64_t done = 0; done < bytes; done += kMaxUpdate)
    vkCmdUpdateBuffer(cmd.handle(), buffer, offset + done, std::min(kMaxUpdate, bytes - done), p + done);
}

Status ExpertCache::create_in_step_buffers(vk::CommandBuffer& cmd) {
  // Descriptors and flags per expert of every op with a cached unit, op by op in expert order.
  std::map<std::pair<int, size_t>, size_t> op_index;
  for (const Unit& u : units_) {
    auto [it, added] = op_index.try_emplace({u.unit.program, u.unit.op}, op_fills_.size());
    if (added) {
      OpFill f;
      f.program = u.unit.program;
      f.op = u.unit.op;
      f.top_k = u.top_k;
      f.table = u.table_base;
      op_fills_.push_back(f);
    }
    OpFill& f = op_fills_[it->second];
    f.experts = std::max(f.experts, u.unit.expert + 1);
    f.max_bytes = std::max(f.max_bytes, u.unit.read_bytes);
  }
  uint32_t total = 0;
  for (OpFill& f : op_fills_) {
    f.base = total;
    total += f.experts;
  }
  std::vector<kernels::FillDesc> descs(std::max<uint32_t>(total, 1));
  std::vector<uint32_t> flags(descs.size(), 0);
  fill_index_.resize(units_.size());
  for (uint32_t i = 0; i < units_.size(); ++i) {
    const Unit& u = units_[i];
    const OpFill& f = op_fills_[op_index.at({u.unit.program, u.unit.op})];
    fill_index_[i] = f.base + u.unit.expert;
    kernels::FillDesc& d = descs[fill_index_[i]];
    const auto p = parts(*manifest_, *weights_, u.unit);
    const std::array<VkDeviceAddress, 4> src = {host_[i].gate_up_data, host_[i].gate_up_scales, host_[i].down_data,
                                                host_[i].down_scales};
    for (size_t k = 0; k < 4; ++k) {
      d.src[k] = src[k];
      d.size[k] = static_cast<uint32_t>(p[k].size);
      d.dst_offset[k] = static_cast<uint32_t>(p[k].dst_offset);
    }
    d.unit = i;
    flags[fill_index_[i]] = !u.resident && slot_of_[i] < 0 ? 1u : 0u;
  }
  if (slot_bytes_ > std::numeric_limits<uint32_t>::max())
    return make_error(ErrorCode::kInvalidArgument, "in-step expert copies need experts under 4 GiB");
  ring_cap_ = 1;
  while (ring_cap_ < slots()) ring_cap_ *= 2;
  const uint64_t state_bytes = sizeof(kernels::FillStateHeader) + uint64_t{ring_cap_} * (16 + 8 + 16);
  R1VK_ASSIGN_OR_RETURN(descs_, ctx_.create_buffer(descs.size() * sizeof(kernels::FillDesc), vk::MemoryUsage::kDeviceLocal,
                                                   "expert cache fill descriptors"));
  R1VK_ASSIGN_OR_RETURN(flags_, ctx_.create_buffer(flags.size() * 4, vk::MemoryUsage::kDeviceLocal, "expert cache fill flags"));
  R1VK_ASSIGN_OR_RETURN(state_, ctx_.create_buffer(state_bytes, vk::MemoryUsage::kDeviceLocal, "expert cache fill state"));
  update(cmd, descs_.handle(), 0, descs.data(), descs.size() * sizeof(kernels::FillDesc));
  update(cmd, flags_.handle(), 0, flags.data(), flags.size() * 4);
  // The free slots go into the ring; the header says how many.
  lend_free_slots();
  std::vector<kernels::FillRingEntry> ring;
  for (uint32_t s : ring_appends_) ring.push_back({slot_address(s), s, 0});
  ring_tail_ = static_cast<uint32_t>(ring.size());
  ring_appends_.clear();
  const kernels::FillStateHeader h{0, ring_tail_, 0, ring_cap_, 0, {0, 0, 0}};
  update(cmd, state_.handle(), 0, &h, sizeof h);
  if (!ring.empty()) update(cmd, state_.handle(), sizeof h, ring.data(), ring.size() * sizeof(kernels::FillRingEntry));
  return ok_status();
}

void ExpertCache::lend_free_slots() {
  for (uint32_t s = 0; s < slots(); ++s) {
    if (occupant_[s] >= 0 || lent_[s] || filling_[s]) continue;
    lent_[s] = true;
    ring_appends_.push_back(s);
  }
}

void ExpertCache::keep_free_reserve(const std::vector<std::pair<uint32_t, uint32_t>>& swaps) {
  uint32_t free = 0;
  for (uint32_t s = 0; s < slots(); ++s) free += occupant_[s] < 0 && !filling_[s] ? 1 : 0;
  const uint32_t reserve = std::min(free_reserve(), slots());
  if (free >= reserve) return;
  // Evict an occupant only for a host expert that has become hotter (the swap rule): then the
  // step that next chooses it copies it into the freed slot. Evicting the coldest regardless
  // would thrash when the routing's working set just fits the slots.
  candidates_.clear();
  for (uint32_t i = 0; i < units_.size(); ++i) {
    if (units_[i].resident || slot_of_[i] >= 0 || score_[i] <= 0) continue;
    auto is_i = [&](const auto& p) { return p.first == i; };
    const bool incoming = std::any_of(copy_.installs.begin(), copy_.installs.end(), is_i) ||
                          std::any_of(swaps.begin(), swaps.end(), is_i);
    if (!incoming) candidates_.push_back(i);
  }
  victims_.clear();
  for (uint32_t s = 0; s < slots(); ++s)
    if (occupant_[s] >= 0) victims_.push_back(s);
  const auto top = static_cast<std::ptrdiff_t>(std::min<size_t>({reserve - free, victims_.size(), candidates_.size()}));
  auto score_of = [&](uint32_t s) { return score_[static_cast<size_t>(occupant_[s])]; };
  std::partial_sort(victims_.begin(), victims_.begin() + top, victims_.end(), [&](uint32_t a, uint32_t b) {
    return score_of(a) < score_of(b) || (score_of(a) == score_of(b) && a < b);
  });
  std::partial_sort(candidates_.begin(), candidates_.begin() + top, candidates_.end(), [&](uint32_t a, uint32_t b) {
    return score_[a] > score_[b] || (score_[a] == score_[b] && a < b);
  });
  for (std::ptrdiff_t i = 0; i < top; ++i) {
    const uint32_t s = victims_[static_cast<size_t>(i)];
    if (score_[candidates_[static_cast<size_t>(i)]] <= score_of(s) * kSwapFactor + kSwapMargin) break;
    const auto v = static_cast<uint32_t>(occupant_[s]);
    slot_of_[v] = -1;
    occupant_[s] = -1;
    table_writes_.emplace_back(v, host_[v]);
    flag_writes_.emplace_back(fill_index_[v], 1u);
  }
}

bool ExpertCache::adopt_log() {
  std::fill(logged_.begin(), logged_.end(), false);
  if (!options_.in_step_copies) return false;
  const std::byte* base = step_snapshot_.mapped().data() + log_snapshot_offset();
  kernels::FillStateHeader h;
  std::memcpy(&h, base, sizeof h);
  // The log runs from the last round that reset it, which the host only submits after reading
  // every step before it: no entry is seen twice, none is missed.
  const uint32_t n = std::min(h.log_count, ring_cap_);
  for (uint32_t i = 0; i < n; ++i) {
    uint32_t e[2];
    std::memcpy(e, base + sizeof h + i * 8, 8);
    const uint32_t u = e[0], s = e[1];
    if (u >= units_.size() || s >= slots()) continue;  // cannot happen: the kernel logs what the host gave it
    lent_[s] = false;
    logged_[u] = true;
    // A unit the host swapped in meanwhile (its swap started before it saw this log): the
    // in-step copy wins, since the device's table already points at `s`; the swap's install
    // skips it and frees its target slot.
    slot_of_[u] = static_cast<int32_t>(s);
    occupant_[s] = static_cast<int32_t>(u);
  }
  return h.log_count > 0;
}

Status ExpertCache::record_in_step_copy(vk::CommandBuffer& cmd, int program, size_t op, const kernels::ActView& ids,
                                        const kernels::StepView& step) const {
  if (!options_.in_step_copies) return ok_status();
  for (const OpFill& f : op_fills_) {
    if (f.program != program || f.op != op) continue;
    kernels::ExpertFillArgs a;
    a.ids = ids;
    a.top_k = f.top_k;
    a.experts = f.experts;
    a.descs = descs_.address() + uint64_t{f.base} * sizeof(kernels::FillDesc);
    a.flags = flags_.address() + uint64_t{f.base} * 4;
    a.table = f.table;
    a.state = state_.address();
    a.ring = a.state + sizeof(kernels::FillStateHeader);
    a.log = a.ring + uint64_t{ring_cap_} * sizeof(kernels::FillRingEntry);
    a.jobs = a.log + uint64_t{ring_cap_} * 8;
    a.max_jobs = static_cast<uint32_t>(std::min<uint64_t>({slots(), f.experts, uint64_t{step.max_tokens} * f.top_k}));
    a.max_expert_bytes = f.max_bytes;
    return fill_kernels_.record(cmd, a, step);
  }
  return ok_status();
}

ExpertCache::~ExpertCache() {
  // Command buffers and slots may still be in use by the device.
  uint64_t last = 0;
  for (const Round& r : rounds_) last = std::max(last, r.value);
  if (last) (void)ctx_.wait_unbounded(last);
  if (copy_.value) (void)ctx_.wait_transfer(copy_.value);
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

Status ExpertCache::read_step_snapshot(bool wait) {
  if (!snapshot_unread_) return ok_status();
  if (wait) {
    ++stats_.host_waits;
    R1VK_TRY(ctx_.wait(last_step_));
  } else {
    // The executor waited for its step before it submits the next, so this is normally true.
    R1VK_ASSIGN_OR_RETURN(bool done, ctx_.is_complete(last_step_));
    if (!done) return ok_status();
  }
  snapshot_unread_ = false;
  R1VK_TRY(ctx_.allocator().invalidate(step_snapshot_.allocation(), 0, step_snapshot_.size()));
  // Reused scratch: no allocation per step once the cache is running.
  std::vector<uint32_t>& now = snapshot_;
  now.resize(baseline_.size());
  if (!now.empty()) std::memcpy(now.data(), step_snapshot_.mapped().data(), now.size() * 4);
  if (adopt_log()) log_reset_ = true;
  // Every step since the last read ran with the table the last round left (in_effect_): rounds
  // are only submitted right after a read.
  for (double& sc : score_) sc *= options_.decay;
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
    if (logged_[i]) {
      // Copied into a slot by the step that first chose it in this interval: every use
      // since read the slot, and the copy moved its bytes over the bus once.
      stats_.slot_uses += d;
      ++stats_.fills;
      stats_.fill_bytes += u.unit.read_bytes;
    } else if (!in_effect_[i]) {
      stats_.host_bytes += d * u.unit.read_bytes;
    } else if (u.resident) {
      stats_.resident_uses += d;
    } else {
      stats_.slot_uses += d;
    }
  }
  std::swap(baseline_, now);
  // The logged experts are in slots in the device's table from their step on.
  for (size_t i = 0; i < units_.size(); ++i)
    if (logged_[i]) in_effect_[i] = true;
  return ok_status();
}

Status ExpertCache::free_finished_rounds(bool wait) {
  while (!rounds_.empty()) {
    Round& r = rounds_.front();
    if (wait) {
      ++stats_.host_waits;
      R1VK_TRY(ctx_.wait(r.value));
    } else {
      R1VK_ASSIGN_OR_RETURN(bool done, ctx_.is_complete(r.value));
      if (!done) break;
    }
    r.value = 0;
    free_rounds_.push_back(std::move(r));
    rounds_.erase(rounds_.begin());  // one or two in flight: a vector, so no node allocations
  }
  return ok_status();
}

void ExpertCache::install_finished_copy() {
  for (const auto& [u, s] : copy_.installs) {
    filling_[s] = false;
    if (slot_of_[u] >= 0) continue;  // an in-step copy placed it first (adopt_log): `s` is free
    slot_of_[u] = static_cast<int32_t>(s);
    occupant_[s] = static_cast<int32_t>(u);
    table_writes_.emplace_back(u, slot_addresses(u, s));
  }
  copy_.installs.clear();
  // The round that points the entries at the slots waits (on the device) for the copy.
  install_wait_ = std::max(install_wait_, copy_.value);
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
  // Slots handed to the device for in-step copies are not the host's to fill until a log
  // returns them: never victims.
  auto victim_score = [&](uint32_t s) {
    if (lent_[s] || filling_[s]) return std::numeric_limits<double>::infinity();
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
    if (victim_score(s) == std::numeric_limits<double>::infinity()) break;
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
      if (options_.in_step_copies) flag_writes_.emplace_back(fill_index_[static_cast<size_t>(victim)], 1u);
    }
    occupant_[s] = -1;  // being filled: nobody reads it until the install
    filling_[s] = true;
    // Steps after this round must not copy the incoming expert in-step as well.
    if (options_.in_step_copies) flag_writes_.emplace_back(fill_index_[u], 0u);
  }
  if (options_.in_step_copies) {
    keep_free_reserve(swaps);
    lend_free_slots();
  }
  const bool writes = !table_writes_.empty() || !flag_writes_.empty() || !ring_appends_.empty() || log_reset_;
  if (writes) {
    Round r;
    if (!free_rounds_.empty()) {
      r = std::move(free_rounds_.back());
      free_rounds_.pop_back();
      R1VK_TRY(r.cmd.reset());
    } else {
      R1VK_ASSIGN_OR_RETURN(r.cmd, ctx_.create_command_buffer());
    }
    R1VK_TRY(r.cmd.begin());
    // After the earlier steps: their table reads and the snapshot copy of the fill state done.
    r.cmd.compute_barrier();
    if (options_.in_step_copies) {
      constexpr uint64_t kHeader = sizeof(kernels::FillStateHeader);
      for (const auto& [i, v] : flag_writes_) vkCmdUpdateBuffer(r.cmd.handle(), flags_.handle(), uint64_t{i} * 4, 4, &v);
      for (uint32_t slot : ring_appends_) {
        const kernels::FillRingEntry e{slot_address(slot), slot, 0};
        vkCmdUpdateBuffer(r.cmd.handle(), state_.handle(), kHeader + uint64_t{ring_tail_ % ring_cap_} * sizeof e, sizeof e, &e);
        ++ring_tail_;
      }
      // tail (word 1) and log_count (word 2): the claims since this round log from 0.
      const uint32_t tail_and_log[2] = {ring_tail_, 0};
      vkCmdUpdateBuffer(r.cmd.handle(), state_.handle(), 4, sizeof tail_and_log, tail_and_log);
      flag_writes_.clear();
      ring_appends_.clear();
      log_reset_ = false;
    }
    for (const auto& [u, a] : table_writes_) record_table_write(r.cmd, u, a);
    // The later steps read the new table.
    r.cmd.compute_barrier();
    R1VK_TRY(r.cmd.end());
    // A round that installs a finished copy's experts waits for the copy on the device (the
    // host saw it complete; the semaphore makes its writes visible to this queue's later work).
    R1VK_ASSIGN_OR_RETURN(r.value, ctx_.submit(r.cmd, install_wait_));
    install_wait_ = 0;
    last_compute_ = r.value;
    table_writes_.clear();
    rounds_.push_back(std::move(r));
    ++stats_.rounds;
  }
  on_device(in_effect_);  // the placement of the steps from here on
  if (swaps.empty()) return ok_status();

  // The copy, on the transfer queue: it waits on the device for the latest compute submit (this
  // round, or the last step: every step that could read a victim's slot came before it); the
  // host does not wait for it.
  if (copy_.cmd.handle() == VK_NULL_HANDLE) {
    R1VK_ASSIGN_OR_RETURN(copy_.cmd, ctx_.create_transfer_command_buffer());
  } else {
    R1VK_TRY(copy_.cmd.reset());
  }
  R1VK_TRY(copy_.cmd.begin());
  for (const auto& [u, s] : swaps) {
    record_fill(copy_.cmd, u, s);
    stats_.swap_bytes += units_[u].unit.read_bytes;
  }
  R1VK_TRY(copy_.cmd.end());
  R1VK_ASSIGN_OR_RETURN(copy_.value, ctx_.submit_transfer(copy_.cmd, last_compute_));
  copy_.installs = swaps;
  stats_.swaps += swaps.size();
  ++stats_.copy_submits;
  return ok_status();
}

Status ExpertCache::before_step() {
  std::lock_guard lock(mu_);
  ++stats_.steps;
  R1VK_TRY(read_step_snapshot(false));
  R1VK_TRY(free_finished_rounds(false));
  if (snapshot_unread_) {
    // The last step is still running (another executor's): keep the placement, so its uses and
    // the next step's are both accounted with it.
    ++stats_.deferred;
    if (copy_.value) ++stats_.overlapped;
    return ok_status();
  }
  if (copy_.value) {
    R1VK_ASSIGN_OR_RETURN(bool done, ctx_.is_transfer_complete(copy_.value));
    // The snapshot just read holds the logs of every step so far: an expert an in-step copy
    // placed meanwhile keeps that slot (install_finished_copy).
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
  R1VK_TRY(read_step_snapshot(true));
  if (copy_.value) {
    ++stats_.host_waits;
    R1VK_TRY(ctx_.wait_transfer(copy_.value));
    install_finished_copy();
  }
  swaps_.clear();
  R1VK_TRY(submit_round(swaps_));
  return free_finished_rounds(true);
}

void ExpertCache::counters_reset() {
  std::lock_guard lock(mu_);
  std::fill(baseline_.begin(), baseline_.end(), 0u);
  stats_ = {};
  op_uses_.clear();
}

}  // namespace r1vk::exec
