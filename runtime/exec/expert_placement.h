// Where a plan's routed experts live when the whole plan does not fit the device-memory budget
// (docs/offload.md): non-expert weights always on the device; routed experts ranked hot-first,
// the first ones that fit the room left on the device, the rest in host memory, which the
// expert kernels read in place through their device addresses (zero-copy over the bus).
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"
#include "plan/manifest.h"

namespace r1vk::exec {

// Bytes a tensor takes in a weights page: data and scales, each aligned to 256 bytes.
uint64_t placed_tensor_bytes(const plan::TensorEntry& t);

// One routed expert of one moe_experts op: its gate_up and down tensors, used together.
struct ExpertUnit {
  int program = 0;        // 0 = main, 1 = mtp
  size_t op = 0;          // index of the moe_experts op in its program
  uint32_t expert = 0;
  int32_t gate_up = -1, down = -1;  // tensor indices
  uint64_t bytes = 0;       // placed_tensor_bytes of both
  uint64_t read_bytes = 0;  // data + scales of both: what one use of the expert reads
};

// Per-expert use counts of each moe_experts op, keyed by the op's label ("layers.3.moe.experts";
// "mtp:" prefixed for the MTP program): a calibration file's content or the GPU's counters.
using ExpertCounts = std::map<std::string, std::vector<uint64_t>>;

// The key ExpertCounts uses for op `op` of program `program`.
std::string expert_op_key(int program, const plan::Op& op);

// Every routed expert of the plan's moe_experts ops, in program and op order, expert order
// within an op. Ops whose weight list is malformed are skipped (Model::load reports them).
std::vector<ExpertUnit> routed_experts(const plan::Manifest& m);

// Hot-first order: by count (descending) when `counts` is given, ties and the uncounted case by
// expert index, then by op order, so without counts every layer keeps its first experts on the
// device in equal share.
std::vector<ExpertUnit> rank_experts(const plan::Manifest& m, std::vector<ExpertUnit> units, const ExpertCounts* counts);

struct ExpertPlacement {
  std::vector<bool> tensor_on_host;  // per plan tensor
  uint64_t experts = 0, experts_on_device = 0;
  uint64_t expert_bytes = 0, expert_device_bytes = 0;  // placed bytes, all / on the device
  uint64_t expert_host_bytes() const { return expert_bytes - expert_device_bytes; }
};

// The longest prefix of `ranked` whose bytes fit `room` goes to the device, the rest to the host.
ExpertPlacement place_experts(const plan::Manifest& m, const std::vector<ExpertUnit>& ranked, uint64_t room);

// What routed-expert reads cost under a placement, from use counts (GPU counters): each use
// reads the expert's read_bytes once (decode; a batch sharing an expert reads it once per step,
// so for batches this is an upper bound). Main program only: the MTP layer runs when speculating.
struct ExpertTraffic {
  uint64_t tokens = 0;             // routed rows: the largest count sum / top_k of any op
  uint64_t uses = 0, host_uses = 0;
  uint64_t bytes = 0, host_bytes = 0;
  double hit_rate() const { return uses ? 1.0 - static_cast<double>(host_uses) / static_cast<double>(uses) : 1.0; }
};
ExpertTraffic expert_traffic(const plan::Manifest& m, const std::vector<ExpertUnit>& units, const ExpertPlacement& placement,
                             const ExpertCounts& counts);

// The expert cache's starting scores from calibration counts, one per unit of `units`, whose op
// picks `top_k[i]` experts per row: the steady state of a stream of one-row steps routed in the
// counts' proportions, top_k * count / (the op's count sum) uses per step over 1 / (1 - decay)
// steps (decay in [0, 1)). 0 for an expert without a count, or whose op counted nothing. Sums are
// taken in double: counts near 2^64 (a file from anywhere) would wrap a 64-bit sum and turn the
// shares into nonsense; a double keeps them right to 1 part in 2^53. Every score is finite, >= 0.
std::vector<double> calibration_scores(const plan::Manifest& m, const std::vector<ExpertUnit>& units,
                                       const std::vector<uint32_t>& top_k, const ExpertCounts& counts, double decay);

// Calibration files: JSON {"format": "r1vk-expert-counts", "version": 1, "tokens": N,
// "ops": {KEY: [count per expert], ...}}. Reading checks every key and length against the plan
// and names the file and op on a mismatch.
Status save_expert_counts(const std::string& path, const ExpertCounts& counts, uint64_t tokens);
Result<ExpertCounts> load_expert_counts(const std::string& path, const plan::Manifest& m);

}  // namespace r1vk::exec
