#include "exec/model.h"

#include <algorithm>
#include <cmath>
#include <cstring>
#include <map>

#include "exec/executor_memory.h"
#include "exec/op_attrs.h"
#include "vulkan/transfer.h"

namespace r1vk::exec {
namespace {

constexpr uint64_t kMiB = 1ull << 20;

uint64_t align256(uint64_t v) { return (v + 255) / 256 * 256; }

std::string bytes_text(uint64_t b) {
  if (b < kMiB) return std::to_string(b) + " bytes (" + std::to_string((b + 512) / 1024) + " KiB)";
  return std::to_string(b) + " bytes (" + std::to_string((b + kMiB / 2) / kMiB) + " MiB)";
}

}  // namespace

uint64_t default_device_memory(const vk::DeviceCaps& caps) {
  uint64_t best = 0;
  bool any_device_local = false;
  for (const auto& h : caps.heaps) any_device_local = any_device_local || h.device_local;
  for (const auto& h : caps.heaps) {
    if (any_device_local && !h.device_local) continue;
    uint64_t v = 0;
    if (caps.memory_budget && h.budget) {
      v = h.budget > h.usage ? h.budget - h.usage : 0;
    } else {
      v = h.size - std::min(h.size, std::max<uint64_t>(h.size / 10, 256 * kMiB));
    }
    best = std::max(best, v);
  }
  return best;
}

Result<std::unique_ptr<Model>> Model::load(vk::Context& ctx, plan::LoadedPlan plan, const ModelOptions& options) {
  std::unique_ptr<Model> m(new Model(ctx, std::move(plan)));
  const int64_t plan_ctx = m->manifest().memory.max_context;
  if (options.context < 0 || options.context > plan_ctx) {
    return make_error(ErrorCode::kInvalidArgument, "context " + std::to_string(options.context) + " exceeds the " +
                                                       std::to_string(plan_ctx) + " positions the plan was compiled for (recompile with a larger --ctx)");
  }
  m->context_ = options.context > 0 ? options.context : plan_ctx;
  const size_t main_ops = m->manifest().main.ops.size();
  m->stage_ = {options.stage.first, std::min(options.stage.end, main_ops)};
  if (m->stage_.first >= m->stage_.end) return make_error(ErrorCode::kInvalidArgument, "the model's stage holds no ops");
  std::vector<bool> needed;  // empty: every tensor
  if (m->stage_.first > 0 || m->stage_.end < main_ops) {
    needed.assign(m->manifest().tensors.size(), false);
    auto need = [&](const plan::Op& op) {
      for (int32_t t : op.weights) needed[static_cast<size_t>(t)] = true;
    };
    for (size_t i = m->stage_.first; i < m->stage_.end; ++i) need(m->manifest().main.ops[i]);
    if (m->stage_.end == main_ops) std::for_each(m->manifest().mtp.ops.begin(), m->manifest().mtp.ops.end(), need);
  }
  R1VK_TRY(m->plan_memory(options, needed));
  R1VK_ASSIGN_OR_RETURN(m->weights_, ModelWeights::upload(ctx, m->plan_, options.progress, options.cancelled, needed,
                                                          m->layout_.experts.tensor_on_host, options.upload_chunk_bytes));
  m->linear_ = std::make_unique<kernels::LinearKernels>(m->pipelines_);
  m->attention_ = std::make_unique<kernels::AttentionKernels>(m->pipelines_);
  R1VK_TRY(m->build_rope_table());
  R1VK_TRY(m->build_expert_tables());
  R1VK_TRY(m->build_expert_cache(options.expert_cache));
  return m;
}

uint64_t Model::table_bytes() const {
  // What build_rope_table and build_expert_tables allocate: the rope table, and per
  // moe_experts op its address table, plus one u32 use counter per expert; 256 bytes of
  // alignment slack per buffer.
  uint64_t bytes = align256(std::max<uint64_t>(static_cast<uint64_t>(context_) * manifest().rope_freqs.size() * 8, 16)) + 256;
  std::map<std::pair<int, size_t>, uint64_t> experts_per_op;
  for (const ExpertUnit& u : ranked_) ++experts_per_op[{u.program, u.op}];
  for (const auto& [op, n] : experts_per_op) bytes += align256(n * sizeof(kernels::ExpertAddresses)) + 256;
  return bytes + align256(std::max<uint64_t>(ranked_.size() * 4, 16)) + 256;
}

Status Model::plan_memory(const ModelOptions& options, const std::vector<bool>& needed) {
  const plan::Manifest& man = manifest();
  if (!options.expert_counts_path.empty()) {
    R1VK_ASSIGN_OR_RETURN(calibration_, load_expert_counts(options.expert_counts_path, man));
  }
  ranked_ = rank_experts(man, routed_experts(man), options.expert_counts_path.empty() ? nullptr : &calibration_);
  // A pipeline stage plans only with its own tensors: other stages' experts are not placed here.
  auto in_stage = [&](size_t i) { return needed.empty() || needed[i]; };
  std::erase_if(ranked_, [&](const ExpertUnit& u) { return !in_stage(static_cast<size_t>(u.gate_up)); });
  std::vector<bool> routed(man.tensors.size(), false);
  for (const ExpertUnit& u : ranked_) routed[static_cast<size_t>(u.gate_up)] = routed[static_cast<size_t>(u.down)] = true;
  uint64_t non_expert = 0;
  for (size_t i = 0; i < man.tensors.size(); ++i)
    if (!routed[i] && in_stage(i)) non_expert += placed_tensor_bytes(man.tensors[i]);

  MemoryLayout& l = layout_;
  // The default reserve is one Session's executor, which drafts with MTP where the plan has it.
  BatchOptions session_executor;
  session_executor.draft_tokens = default_draft_tokens(*this);
  l.reserve = options.reserve ? options.reserve(*this) : executor_device_bytes(*this, session_executor);
  vk::Allocator& alloc = ctx_.allocator();
  l.budget = options.gpu_memory ? options.gpu_memory : alloc.budget_bytes();
  l.budget_automatic = l.budget == 0;
  if (l.budget_automatic) l.budget = default_device_memory(ctx_.caps());
  // Past one allocator block, buffers that do not fit a block's remainder leave holes: keep an
  // eighth of a block spare so the reserve still fits.
  l.margin = l.budget > alloc.block_size() ? alloc.block_size() / 8 : 0;
  const uint64_t tables = table_bytes();
  l.fixed = non_expert + tables + l.reserve;
  const uint64_t need = l.fixed + l.margin;
  // The context's budget is shared with what it already holds (other models, sessions); an
  // explicit gpu_memory is this model's own.
  const uint64_t held = options.gpu_memory ? 0 : std::min(alloc.bytes_allocated(), l.budget);
  const uint64_t available = l.budget - held;
  if (need > available && !l.budget_automatic) {
    return make_error(ErrorCode::kOutOfBudget,
                      "the device-memory budget of " + std::to_string(l.budget) + " bytes" +
                          (held ? " (" + std::to_string(held) + " already allocated)" : std::string()) +
                          " is below what the model needs without its routed experts: " + bytes_text(need) +
                          " = non-expert weights " + bytes_text(non_expert) + " + tables " + bytes_text(tables) +
                          " + KV cache and activations " + bytes_text(l.reserve) +
                          (l.margin ? " + allocation margin " + bytes_text(l.margin) : std::string()) +
                          "; raise the budget (--gpu-memory) to at least " + std::to_string(need + held) + " bytes");
  }
  // With the automatic figure a model too big for it still loads, every expert in host memory:
  // the driver, not an estimate, then decides whether the rest fits.
  const uint64_t room = need <= available ? available - need : 0;
  // Cache slots come out of the experts' room first; the resident experts fill what is left.
  if (options.expert_cache_slots < 0 && options.expert_cache_slots != ModelOptions::kExpertCacheAll) {
    return make_error(ErrorCode::kInvalidArgument, "expert cache slots must be >= 0 (or all), got " +
                                                       std::to_string(options.expert_cache_slots));
  }
  uint64_t slot_bytes = 0;
  for (const ExpertUnit& u : ranked_) slot_bytes = std::max(slot_bytes, u.bytes);
  // Each page of slots costs an allocation's alignment slack too.
  auto cache_bytes = [&](uint64_t slots) { return slots ? slots * slot_bytes + 256 * (1 + slots * slot_bytes / (1ull << 30)) : 0; };
  uint64_t slots = 0;
  if (slot_bytes && options.expert_cache_slots == ModelOptions::kExpertCacheAll) {
    slots = std::min<uint64_t>(room / slot_bytes, ranked_.size());
    while (slots && cache_bytes(slots) > room) --slots;
  } else if (slot_bytes && options.expert_cache_slots > 0) {
    slots = std::min<uint64_t>(static_cast<uint64_t>(options.expert_cache_slots), ranked_.size());
    if (cache_bytes(slots) > room && !l.budget_automatic) {
      return make_error(ErrorCode::kOutOfBudget,
                        "an expert cache of " + std::to_string(slots) + " slots needs " + bytes_text(cache_bytes(slots)) +
                            " of device memory (" + std::to_string(slot_bytes) + " bytes per slot); the budget of " +
                            std::to_string(l.budget) + " bytes leaves " + bytes_text(room) +
                            " for routed experts: lower --expert-cache or raise --gpu-memory");
    }
    while (slots && cache_bytes(slots) > room) --slots;
  }
  l.experts = place_experts(man, ranked_, room - cache_bytes(slots));
  // Slots past the experts left in host memory would never be used.
  slots = std::min(slots, l.experts.experts - l.experts.experts_on_device);
  l.cache_slots = static_cast<uint32_t>(slots);
  l.cache_slot_bytes = slots ? slot_bytes : 0;
  return ok_status();
}

int64_t Model::vocab_size() const {
  const plan::Program& p = manifest().main;
  return p.values[static_cast<size_t>(p.logits_value)].width;
}

Status Model::build_rope_table() {
  // cos/sin per (position, pair) computed in f64 so long positions keep their accuracy, then
  // stored as f32 with the YaRN magnitude folded in.
  const auto& freqs = manifest().rope_freqs;
  const double mag = manifest().rope_magnitude;
  rope_.pairs = static_cast<uint32_t>(freqs.size());
  rope_.max_context = static_cast<uint32_t>(context_);
  std::vector<float> table(static_cast<size_t>(context_) * freqs.size() * 2);
  for (int64_t pos = 0; pos < context_; ++pos) {
    for (size_t i = 0; i < freqs.size(); ++i) {
      const double a = static_cast<double>(pos) * freqs[i];
      table[(static_cast<size_t>(pos) * freqs.size() + i) * 2] = static_cast<float>(std::cos(a) * mag);
      table[(static_cast<size_t>(pos) * freqs.size() + i) * 2 + 1] = static_cast<float>(std::sin(a) * mag);
    }
  }
  const uint64_t bytes = std::max<uint64_t>(table.size() * 4, 16);
  R1VK_ASSIGN_OR_RETURN(rope_buffer_, ctx_.create_buffer(bytes, vk::MemoryUsage::kDeviceLocal, "rope table"));
  if (!table.empty()) R1VK_TRY(vk::upload_span<float>(ctx_, rope_buffer_, table));
  rope_.addr = rope_buffer_.address();
  return ok_status();
}

Status Model::build_expert_tables() {
  const plan::Program* programs[2] = {&manifest().main, &manifest().mtp};
  uint64_t counter_words = 0;
  for (int pi = 0; pi < 2; ++pi) {
    const auto& ops = programs[pi]->ops;
    std::map<int32_t, size_t> route_of_value;  // ids value -> the moe_route op that wrote it last
    for (size_t i = 0; i < ops.size(); ++i) {
      const plan::Op& op = ops[i];
      if (op.kind == plan::OpKind::kMoeRoute && !op.outputs.empty()) route_of_value[op.outputs[0].value] = i;
      if (op.kind != plan::OpKind::kMoeExperts) continue;
      const bool in_stage = pi == 0 ? i >= stage_.first && i < stage_.end : stage_.end == manifest().main.ops.size();
      if (!in_stage) continue;  // its tensors live on another stage
      R1VK_ASSIGN_OR_RETURN(int64_t experts, attr_int(op, "experts"));
      if (experts <= 0 || static_cast<int64_t>(op.weights.size()) != 2 * experts) {
        return make_error(ErrorCode::kCorruptData, "op " + op.label + " must list gate_up and down tensors of every expert");
      }
      std::vector<kernels::ExpertAddresses> table(static_cast<size_t>(experts));
      const kernels::WeightView& first = weights_.view(static_cast<size_t>(op.weights[0]));
      for (int64_t e = 0; e < experts; ++e) {
        const auto& gu = weights_.view(static_cast<size_t>(op.weights[static_cast<size_t>(e)]));
        const auto& dn = weights_.view(static_cast<size_t>(op.weights[static_cast<size_t>(experts + e)]));
        // Gate|up and down may differ (kernels::MoeExpertsArgs::down_format), each the same for all experts.
        const kernels::WeightView& first_down = weights_.view(static_cast<size_t>(op.weights[static_cast<size_t>(experts)]));
        if (gu.format != first.format || dn.format != first_down.format || gu.group != first.group ||
            dn.group != first_down.group) {
          return make_error(ErrorCode::kCorruptData, "op " + op.label + ": experts must share one weight format");
        }
        table[static_cast<size_t>(e)] = {gu.data, gu.scales, dn.data, dn.scales};
      }
      R1VK_ASSIGN_OR_RETURN(auto buf, ctx_.create_buffer(table.size() * sizeof(kernels::ExpertAddresses),
                                                         vk::MemoryUsage::kDeviceLocal, "expert table " + op.label));
      R1VK_TRY(vk::upload_span<kernels::ExpertAddresses>(ctx_, buf, table));
      expert_tables_.push_back({{pi, i}, buf.address()});
      expert_buffers_.push_back(std::move(buf));
      if (op.inputs.size() >= 2) {
        if (auto r = route_of_value.find(op.inputs[1].value); r != route_of_value.end()) {
          counter_ranges_.push_back({pi, r->second, i, counter_words, static_cast<uint32_t>(experts)});
          counter_words += static_cast<uint64_t>(experts);
        }
      }
    }
  }
  R1VK_ASSIGN_OR_RETURN(counters_, ctx_.create_buffer(std::max<uint64_t>(counter_words * 4, 16), vk::MemoryUsage::kDeviceLocal,
                                                      "expert use counters"));
  return reset_expert_counts();
}

VkDeviceAddress Model::expert_counters(int program, size_t route_op_index) const {
  for (const CounterRange& r : counter_ranges_)
    if (r.program == program && r.route_op == route_op_index) return counters_.address() + r.offset * 4;
  return 0;
}

Status Model::build_expert_cache(const ExpertCacheOptions& options) {
  if (layout_.cache_slots == 0) return ok_status();
  std::vector<ExpertCache::Unit> units;
  for (const ExpertUnit& u : ranked_) {
    ExpertCache::Unit c;
    c.unit = u;
    c.resident = !layout_.experts.tensor_on_host[static_cast<size_t>(u.gate_up)];
    for (size_t i = 0; i < expert_tables_.size(); ++i) {
      if (expert_tables_[i].first != std::make_pair(u.program, u.op)) continue;
      c.table = expert_buffers_[i].handle();
      c.table_offset = uint64_t{u.expert} * sizeof(kernels::ExpertAddresses);
      c.table_base = expert_tables_[i].second;
    }
    if (c.table == VK_NULL_HANDLE) return make_error(ErrorCode::kInternal, "a routed expert's op has no expert table");
    for (const CounterRange& r : counter_ranges_)
      if (r.program == u.program && r.experts_op == u.op) c.counter = static_cast<int64_t>(r.offset + u.expert);
    const plan::Op& op = (u.program == 0 ? manifest().main : manifest().mtp).ops[u.op];
    c.top_k = static_cast<uint32_t>(std::max<int64_t>(1, attr_int_or(op, "top_k", 1)));
    units.push_back(c);
  }
  ExpertCacheOptions o = options;
  o.slots = layout_.cache_slots;
  o.slot_bytes = layout_.cache_slot_bytes;
  R1VK_ASSIGN_OR_RETURN(cache_, ExpertCache::create(ctx_, pipelines_, manifest(), weights_, std::move(units), counters_,
                                                    counters_.size() / 4, calibration_, o));
  return ok_status();
}

Status Model::reset_expert_counts() {
  // What ran so far is accounted first; the cache keeps its ranking.
  if (cache_) R1VK_TRY(cache_->flush());
  // Through a copy ordered after earlier steps' atomics by a barrier (the steps have finished
  // on the host's side; the barrier orders their writes with this one on the device).
  R1VK_ASSIGN_OR_RETURN(auto zeros, ctx_.create_buffer(counters_.size(), vk::MemoryUsage::kHostVisible, "counter zeros"));
  std::memset(zeros.mapped().data(), 0, zeros.size());
  R1VK_TRY(ctx_.allocator().flush(zeros.allocation(), 0, zeros.size()));
  R1VK_ASSIGN_OR_RETURN(auto cmd, ctx_.create_command_buffer());
  R1VK_TRY(cmd.begin());
  cmd.compute_barrier();
  cmd.copy_buffer(zeros.handle(), 0, counters_.handle(), 0, counters_.size());
  cmd.compute_barrier();
  R1VK_TRY(cmd.end());
  R1VK_TRY(ctx_.submit_and_wait(cmd));
  if (cache_) cache_->counters_reset();
  return ok_status();
}

Result<ExpertCounts> Model::read_expert_counts() {
  R1VK_ASSIGN_OR_RETURN(auto host, ctx_.create_buffer(counters_.size(), vk::MemoryUsage::kHostVisible, "counter read-back"));
  R1VK_ASSIGN_OR_RETURN(auto cmd, ctx_.create_command_buffer());
  R1VK_TRY(cmd.begin());
  cmd.compute_barrier();
  cmd.copy_buffer(counters_.handle(), 0, host.handle(), 0, counters_.size());
  R1VK_TRY(cmd.end());
  R1VK_TRY(ctx_.submit_and_wait(cmd));
  R1VK_TRY(ctx_.allocator().invalidate(host.allocation(), 0, host.size()));
  std::vector<uint32_t> words(counters_.size() / 4);
  std::memcpy(words.data(), host.mapped().data(), words.size() * 4);
  ExpertCounts counts;
  const plan::Program* programs[2] = {&manifest().main, &manifest().mtp};
  for (const CounterRange& r : counter_ranges_) {
    std::vector<uint64_t>& c = counts[expert_op_key(r.program, programs[r.program]->ops[r.experts_op])];
    c.assign(words.begin() + static_cast<ptrdiff_t>(r.offset), words.begin() + static_cast<ptrdiff_t>(r.offset + r.experts));
  }
  return counts;
}

VkDeviceAddress Model::expert_table(int program, size_t op_index) const {
  for (const auto& [key, addr] : expert_tables_)
    if (key.first == program && key.second == op_index) return addr;
  return 0;
}

}  // namespace r1vk::exec
