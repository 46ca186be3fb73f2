// Fuzz target: an expert-counts calibration file (`--calibrate FILE`, runtime/exec/expert_placement)
// read against a small fixed plan, then used as the load and the expert cache use it: ranking the
// routed experts hot-first, placing them under a room of bytes, and the expert cache's starting
// scores (expert_traffic is left out: it reads the GPU's counters, never a file). The input is
// the file. The plan has three moe_experts ops of 4, 8 and 2 experts in the main program and one
// of 3 in the MTP program ("mtp:" keys).
// Invariants: a refusal names the file; an accepted file has exactly the plan's ops it names, each
// with one count per expert; the ranking is a permutation ordered by count, then expert index; the
// placement is a prefix that fits the room; every starting score is finite and >= 0, and per op
// the scores of a file that counted anything sum to top_k / (1 - decay).
#include <cmath>
#include <string>

#include "exec/expert_placement.h"
#include "fuzz_support.h"

namespace {

using namespace r1vk;

constexpr double kDecay = 0.97;  // ExpertCacheOptions' default

plan::Manifest g_plan;

void add_moe_op(plan::Program& program, const std::string& label, int64_t experts, int64_t top_k) {
  plan::Op op;
  op.kind = plan::OpKind::kMoeExperts;
  op.label = label;
  op.ints["experts"] = experts;
  op.ints["top_k"] = top_k;
  for (int64_t part = 0; part < 2; ++part) {  // gate_up tensors, then down tensors
    for (int64_t e = 0; e < experts; ++e) {
      plan::TensorEntry t;
      t.name = label + "." + std::to_string(e) + (part == 0 ? ".gate_up" : ".down");
      t.rows = 16;
      t.cols = 8;
      t.data.size = static_cast<uint64_t>(100 + 37 * e + 300 * part);  // unequal units: the room matters
      op.weights.push_back(static_cast<int32_t>(g_plan.tensors.size()));
      g_plan.tensors.push_back(t);
    }
  }
  program.ops.push_back(op);
}

uint64_t count_of(const exec::ExpertCounts& counts, const exec::ExpertUnit& u) {
  const auto it = counts.find(exec::expert_op_key(u.program, (u.program == 0 ? g_plan.main : g_plan.mtp).ops[u.op]));
  return it == counts.end() ? 0 : it->second[u.expert];
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  plan::Op norm;  // a non-expert op between the expert ops: keys follow op labels, not positions
  norm.kind = plan::OpKind::kRmsNorm;
  norm.label = "layers.1.post_attention_layernorm";
  g_plan.main.ops.push_back(norm);
  add_moe_op(g_plan.main, "layers.1.moe.experts", 4, 2);
  g_plan.main.ops.push_back(norm);
  add_moe_op(g_plan.main, "layers.2.moe.experts", 8, 3);
  add_moe_op(g_plan.main, "layers.3.moe.experts", 2, 1);
  add_moe_op(g_plan.mtp, "layers.4.moe.experts", 3, 2);
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  const std::string path = fuzz::write_scratch_file("expert_counts.json", {reinterpret_cast<const char*>(data), size});
  auto counts = exec::load_expert_counts(path, g_plan);
  if (!counts.ok()) {
    fuzz::check(counts.error().message().rfind(path, 0) == 0, "a refused calibration file is named in the error");
    return 0;
  }

  const std::vector<exec::ExpertUnit> units = exec::routed_experts(g_plan);
  fuzz::check(units.size() == 4 + 8 + 2 + 3, "every routed expert of the plan is a unit");
  std::map<std::string, size_t> experts_of;
  for (const auto& u : units) ++experts_of[exec::expert_op_key(u.program, (u.program == 0 ? g_plan.main : g_plan.mtp).ops[u.op])];
  for (const auto& [key, c] : *counts) {
    const auto it = experts_of.find(key);
    fuzz::check(it != experts_of.end(), "an accepted file names only routed-expert ops of the plan");
    fuzz::check(c.size() == it->second, "an accepted file has one count per expert of the op");
  }

  const auto ranked = exec::rank_experts(g_plan, units, &*counts);
  fuzz::check(ranked.size() == units.size(), "the ranking keeps every unit");
  std::vector<bool> seen(g_plan.tensors.size(), false);
  for (size_t i = 0; i < ranked.size(); ++i) {
    fuzz::check(!seen[static_cast<size_t>(ranked[i].gate_up)], "the ranking is a permutation");
    seen[static_cast<size_t>(ranked[i].gate_up)] = true;
    if (i == 0) continue;
    const uint64_t a = count_of(*counts, ranked[i - 1]), b = count_of(*counts, ranked[i]);
    fuzz::check(a > b || (a == b && ranked[i - 1].expert <= ranked[i].expert), "hot first, then by expert index");
  }

  // A room from the file's size: from nothing on the device to everything on it.
  const uint64_t room = static_cast<uint64_t>(size) * 97;
  const auto placement = exec::place_experts(g_plan, ranked, room);
  fuzz::check(placement.experts == ranked.size(), "the placement counts every unit");
  fuzz::check(placement.expert_device_bytes <= room, "the device part fits the room");
  for (size_t i = 0; i < ranked.size(); ++i) {
    const bool host = placement.tensor_on_host[static_cast<size_t>(ranked[i].gate_up)];
    fuzz::check(host == (i >= placement.experts_on_device), "the device part is a prefix of the ranking");
    fuzz::check(host == placement.tensor_on_host[static_cast<size_t>(ranked[i].down)], "an expert's two tensors stay together");
  }

  std::vector<uint32_t> top_k;
  for (const auto& u : units) {
    top_k.push_back(static_cast<uint32_t>((u.program == 0 ? g_plan.main : g_plan.mtp).ops[u.op].ints.at("top_k")));
  }
  const auto scores = exec::calibration_scores(g_plan, units, top_k, *counts, kDecay);
  fuzz::check(scores.size() == units.size(), "one starting score per unit");
  std::map<std::string, double> per_op;
  for (size_t i = 0; i < units.size(); ++i) {
    fuzz::check(std::isfinite(scores[i]) && scores[i] >= 0, "a starting score is finite and >= 0");
    per_op[exec::expert_op_key(units[i].program, (units[i].program == 0 ? g_plan.main : g_plan.mtp).ops[units[i].op])] += scores[i];
  }
  for (const auto& [key, sum] : per_op) {
    const auto it = counts->find(key);
    bool counted = false;
    if (it != counts->end()) {
      for (uint64_t c : it->second) counted = counted || c != 0;
    }
    if (!counted) {
      fuzz::check(sum == 0, "an op that counted nothing starts cold");
      continue;
    }
    size_t u = 0;
    while (exec::expert_op_key(units[u].program, (units[u].program == 0 ? g_plan.main : g_plan.mtp).ops[units[u].op]) != key) ++u;
    const double expected = top_k[u] / (1.0 - kDecay);
    fuzz::check(std::abs(sum - expected) <= 1e-9 * expected, "an op's starting scores add up to top_k / (1 - decay)");
  }
  return 0;
}
