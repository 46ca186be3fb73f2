// The device expert cache (docs/offload.md): slots in device memory that hold copies of routed
// experts whose home is host memory, so the expert kernels read the hot ones from the device
// and the rest in place over the bus. Placement adapts while the model runs: before each step
// the host folds the routers' GPU use counters into a decayed score per expert, and when a
// host expert has become hotter than a slot's occupant it swaps them asynchronously.
//
// The kernels never see the cache: they read each expert through its moe_experts op's address
// table (kernels::ExpertAddresses), and a cached expert's entry points into its slot, an
// uncached one's into host memory. Every table write is a command on the compute queue, ordered
// by barriers between the steps that read the old table and those that read the new one, so a
// step always sees one consistent placement and never waits on the host. A swap is
//   1. evict: the victim's entry goes back to its host copy (a "round": a small submit before a
//      step, only when the placement changes);
//   2. copy: the incoming expert's bytes go host -> the freed slot, on the transfer queue
//      (vk::Context::submit_transfer: a queue of its own when the device has a second family,
//      else the compute queue), which waits on the device for the evicting round's timeline
//      value and signals the transfer timeline; the host does not wait for it, and steps
//      submitted meanwhile read the incoming expert from host memory and never touch the slot;
//   3. install: once the host sees the copy complete (transfer timeline, polled), the next round
//      points the incoming expert's entry at the slot; that round waits on the device for the
//      copy's transfer value, so nothing reads the slot before the copy's writes.
// Every step's command buffer ends with a copy of the counters into a host-visible snapshot
// (record_step_end); the host reads it before the next step once the step has finished (its
// timeline value, polled: the executor waited for it already), never waiting for the device.
//
// With in-step copies (ExpertCacheOptions::in_step_copies) a step also fills free slots itself:
// each round hands the free slots to the device (a ring in device memory), and a kernel after
// each router (kernels::ExpertFillKernels) copies the chosen host experts into them and points
// their entries there before the expert GEMMs run; when the ring is empty the rest are read in
// place. The kernel logs (unit, slot); the step's snapshot carries the log with the counters,
// the host adopts those experts into the placement and the next round resets the log. A slot handed to the device
// is the device's until the log says what became of it: the host never evicts, swaps into or
// re-lends it meanwhile. Between steps it frees up to `free_reserve` slots by evicting the
// coldest occupants when host experts have become hotter (the swap rule, without the copy).
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <vector>

#include "base/status.h"
#include "exec/expert_placement.h"
#include "exec/model_weights.h"
#include "kernels/expert_fill_kernels.h"
#include "kernels/linear_kernels.h"
#include "plan/manifest.h"
#include "vulkan/context.h"

namespace r1vk::exec {

struct ExpertCacheOptions {
  uint32_t slots = 0;
  uint64_t slot_bytes = 0;  // every slot holds the largest expert unit (placed_tensor_bytes layout)
  // Experts copied per round, at most; 0: a quarter of the slots (at least 1). One round's
  // copies must finish before the next round starts more.
  uint32_t max_swaps_per_round = 0;
  // Scores are exponentially decayed use counts: score = score * decay + uses since the last
  // round (about 1 / (1 - decay) steps of memory). 0.97: on the demo model it moved the fewest
  // bytes over the bus (host reads plus swap copies) of 0.9, 0.97 and 0.99 (docs/offload.md).
  double decay = 0.97;
  // In-step copies (above): a kernel after each router fills free slots with the step's chosen
  // host experts. The slots start empty (or with the calibration file's hot experts).
  bool in_step_copies = false;
  // With in-step copies: slots kept free (or handed to the device) before each step, by
  // evicting the coldest occupants when hotter host experts want them; 0: a quarter of the
  // slots (at least 1).
  uint32_t free_reserve = 0;
};

// Routed-expert reads since the load or the last reset (main program only, like
// expert_traffic: the MTP layer runs only when speculating), by where each use read the expert.
struct ExpertCacheStats {
  uint64_t steps = 0;         // steps submitted (before_step calls)
  uint64_t rounds = 0;        // rounds submitted (before the steps where the placement changed)
  uint64_t deferred = 0;      // steps submitted before the last one's snapshot could be read
  uint64_t host_waits = 0;    // times the cache blocked on the device (flush only)
  uint64_t copy_submits = 0;  // swap copies submitted to the transfer queue
  uint64_t swaps = 0;         // experts copied into a slot
  uint64_t swap_bytes = 0;    // bytes those copies moved host -> device
  uint64_t fills = 0;         // experts copied into a slot inside a step (in-step copies)
  uint64_t fill_bytes = 0;    // bytes those copies moved host -> device
  uint64_t overlapped = 0;    // steps submitted while a swap copy was in flight
  uint64_t uses = 0;          // expert uses (a row choosing an expert)
  uint64_t resident_uses = 0; // read from the load's device-resident experts
  uint64_t slot_uses = 0;     // read from a cache slot
  uint64_t bytes = 0, host_bytes = 0;  // read_bytes of all uses / of those read from host memory
  uint64_t tokens = 0;        // routed rows: the largest uses / top_k of any op
  double hit_rate() const {
    return uses ? static_cast<double>(resident_uses + slot_uses) / static_cast<double>(uses) : 1.0;
  }
};

class ExpertCache {
 public:
  // One routed expert of the model, as the load placed it.
  struct Unit {
    ExpertUnit unit;
    bool resident = false;     // in the load's device pages: never cached, never evicted
    VkBuffer table = VK_NULL_HANDLE;
    uint64_t table_offset = 0;  // its ExpertAddresses entry in `table`
    VkDeviceAddress table_base = 0;  // its op's table (for the in-step copy kernel)
    int64_t counter = -1;       // its u32 in the counters buffer (-1: its router has none)
    uint32_t top_k = 1;         // of its op
  };

  // Allocates `options.slots` device slots, fills them with the first host experts of `units`
  // (hot-first order: the load's ranking) and points their table entries there; waits for
  // that. `seed` (a calibration file's counts, may be empty) starts the scores. `counters` is
  // the routers' counter buffer (Model::expert_counters), `counter_words` its length in u32.
  // `pipelines` records the in-step copy kernel (record_in_step_copy).
  static Result<std::unique_ptr<ExpertCache>> create(vk::Context& ctx, kernels::PipelineSet& pipelines,
                                                     const plan::Manifest& m, const ModelWeights& weights,
                                                     std::vector<Unit> units, const vk::Buffer& counters,
                                                     uint64_t counter_words, const ExpertCounts& seed,
                                                     const ExpertCacheOptions& options);
  ~ExpertCache();

  // Between steps, before a step's submit: reads the last step's counter snapshot when that
  // step has finished, installs a finished copy, picks the next swaps and submits a round (and
  // the copy) when the placement changes. Never waits for the device. When the last step has not
  // finished (another executor's step still running), nothing changes: the next step runs with
  // the same placement, so the uses of both are still accounted exactly.
  Status before_step();
  // After a step's submit, with its timeline value: its snapshot is the one to read next.
  void step_submitted(uint64_t value);
  // Recorded last in every step's command buffer: copies the counters (and, with in-step
  // copies, the fill log) into the host-visible snapshot.
  Status record_step_end(vk::CommandBuffer& cmd) const;
  // Waits for the last step, every round and copy, installs and accounts everything run so far
  // (a last round with no swaps): stats() then covers every step. For reports and resets; these
  // are the cache's only host waits (ExpertCacheStats::host_waits).
  Status flush();
  // After the counters were zeroed (Model::reset_expert_counts, after flush()): zeroes the
  // stats and the counter baseline; the scores (the ranking) are kept.
  void counters_reset();

  // Records the in-step copy for the moe_experts op `op` of `program` (0 main, 1 mtp), whose
  // rows' expert ids are `ids`, between its router and its GEMMs; nothing without in-step copies
  // or when the op has no host expert.
  Status record_in_step_copy(vk::CommandBuffer& cmd, int program, size_t op, const kernels::ActView& ids,
                             const kernels::StepView& step) const;
  bool in_step_copies() const { return options_.in_step_copies; }

  ExpertCacheStats stats() const;
  uint32_t slots() const { return static_cast<uint32_t>(occupant_.size()); }
  uint64_t slot_bytes() const { return slot_bytes_; }
  // Which unit (index into the create() order) holds each slot in the table the next round
  // leaves (-1: free or being filled). For tests.
  std::vector<int32_t> occupants() const;

 private:
  struct Round {
    vk::CommandBuffer cmd;
    uint64_t value = 0;  // compute timeline value; 0: free
  };
  struct Copy {
    vk::CommandBuffer cmd;  // from a transfer pool
    uint64_t value = 0;     // transfer timeline value; 0: none in flight
    std::vector<std::pair<uint32_t, uint32_t>> installs;  // (unit, slot)
  };

  // One moe_experts op's part of the in-step copy buffers.
  struct OpFill {
    int program = 0;
    size_t op = 0;
    uint32_t base = 0;     // first FillDesc / flag of the op
    uint32_t experts = 0;
    uint32_t top_k = 1;
    uint64_t max_bytes = 0;  // its largest expert's read_bytes
    VkDeviceAddress table = 0;
  };

  ExpertCache(vk::Context& ctx, kernels::PipelineSet& pipelines) : ctx_(ctx), fill_kernels_(pipelines) {}
  Status create_in_step_buffers(vk::CommandBuffer& cmd);
  uint32_t free_reserve() const;
  // vkCmdUpdateBuffer in pieces of at most 65536 bytes (its limit).
  static void update(vk::CommandBuffer& cmd, VkBuffer buffer, uint64_t offset, const void* data, uint64_t bytes);
  // With in-step copies: evicts cold occupants that hotter host experts (not `swaps`' incoming
  // ones) outscore, up to the free reserve, and hands every free slot to the device (ring
  // appends in the next round).
  void keep_free_reserve(const std::vector<std::pair<uint32_t, uint32_t>>& swaps);
  void lend_free_slots();
  // The log in the step snapshot: adopts its (unit, slot) pairs, marks them in `logged_`.
  // Returns whether it held any (a round must then reset it).
  bool adopt_log();
  uint64_t log_snapshot_offset() const { return (counter_bytes_ + 15) / 16 * 16; }
  VkDeviceAddress slot_address(uint32_t slot) const;
  kernels::ExpertAddresses slot_addresses(uint32_t unit, uint32_t slot) const;
  // Records the copy of `unit`'s four parts from its host page into `slot`.
  void record_fill(vk::CommandBuffer& cmd, uint32_t unit, uint32_t slot) const;
  void record_table_write(vk::CommandBuffer& cmd, uint32_t unit, const kernels::ExpertAddresses& a) const;
  // Points the entries of a finished copy's experts at their slots (in the next round).
  void install_finished_copy();
  // Reads and accounts the last step's snapshot when that step has finished (with `wait`:
  // waits for it).
  Status read_step_snapshot(bool wait);
  // Returns the command buffers of finished rounds to the free list (with `wait`: waits for all).
  Status free_finished_rounds(bool wait);
  // Submits a round writing the pending table entries, if there are any; with `swaps` ((unit,
  // slot) pairs whose victims it evicts) it then starts their copy on the transfer queue.
  // Per unit: read from device memory with the current table (into out, resized).
  void on_device(std::vector<bool>& out) const;
  // The swaps of this round, hottest candidate into coldest slot (a reference to swaps_).
  const std::vector<std::pair<uint32_t, uint32_t>>& choose_swaps();
  Status submit_round(const std::vector<std::pair<uint32_t, uint32_t>>& swaps);

  vk::Context& ctx_;
  const plan::Manifest* manifest_ = nullptr;
  const ModelWeights* weights_ = nullptr;
  ExpertCacheOptions options_;
  std::vector<Unit> units_;
  std::vector<kernels::ExpertAddresses> host_;  // per unit: its addresses in host memory
  std::vector<int32_t> slot_of_;                // per unit: the slot its entry points to, or -1
  std::vector<int32_t> occupant_;               // per slot: the unit it serves, or -1
  std::vector<double> score_;
  std::vector<uint32_t> baseline_;              // counters at the last snapshot read
  std::vector<uint32_t> snapshot_;              // scratch: a snapshot's counters, swapped with baseline_
  std::vector<bool> in_effect_;                 // per unit: on the device in the table the last round left
  std::vector<std::pair<uint32_t, kernels::ExpertAddresses>> table_writes_;  // for the next round
  std::vector<uint32_t> candidates_, victims_;                 // choose_swaps scratch
  std::vector<std::pair<uint32_t, uint32_t>> swaps_;           // choose_swaps result
  std::vector<vk::Buffer> pages_;
  uint32_t slots_per_page_ = 1;
  uint64_t slot_bytes_ = 0;
  VkBuffer counters_ = VK_NULL_HANDLE;
  uint64_t counter_bytes_ = 0;
  std::vector<Round> rounds_;  // submitted, oldest first
  std::vector<Round> free_rounds_;
  Copy copy_;
  uint64_t install_wait_ = 0;  // transfer value the next round waits for (a finished copy's installs)
  uint64_t last_compute_ = 0;  // the latest step or round submitted: a swap copy starts after it
  vk::Buffer step_snapshot_;   // host-visible: counters, then (in-step copies) the fill log
  uint64_t last_step_ = 0;     // timeline value of the last step submitted
  bool snapshot_unread_ = false;  // that step's snapshot has not been accounted
  bool log_reset_ = false;     // the fill log held entries: the next round zeroes its count
  std::map<size_t, uint64_t> op_uses_;  // per main-program op: uses (for tokens)

  // In-step copies (empty without them).
  kernels::ExpertFillKernels fill_kernels_;
  std::vector<OpFill> op_fills_;
  std::vector<uint32_t> fill_index_;  // per unit: its FillDesc / flag index
  vk::Buffer descs_, flags_, state_;
  uint32_t ring_cap_ = 0;             // a power of two >= slots: head and tail wrap with u32
  uint32_t ring_tail_ = 0;            // ring entries appended so far (mod 2^32)
  std::vector<bool> lent_;            // per slot: in the ring or claimed, not yet seen in a log
  std::vector<bool> filling_;         // per slot: target of the swap copy in flight
  std::vector<std::pair<uint32_t, uint32_t>> flag_writes_;  // (fill index, value) for the next round
  std::vector<uint32_t> ring_appends_;                     // slots for the next round's ring
  std::vector<bool> logged_;          // scratch: units the last snapshot's log adopted
  ExpertCacheStats stats_;
  mutable std::mutex mu_;
};

}  // namespace r1vk::exec
