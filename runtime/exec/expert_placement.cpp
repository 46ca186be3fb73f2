#include "exec/expert_placement.h"

#include <algorithm>
#include <fstream>
#include <numeric>

#include "base/json_util.h"

namespace r1vk::exec {
namespace {

constexpr uint64_t kPageAlignment = 256;  // ModelWeights' tensor alignment
constexpr uint64_t kMaxCountsFileBytes = 64ull << 20;
constexpr const char* kFormat = "r1vk-expert-counts";

uint64_t align(uint64_t v) { return (v + kPageAlignment - 1) / kPageAlignment * kPageAlignment; }

const plan::Program& program_of(const plan::Manifest& m, int program) { return program == 0 ? m.main : m.mtp; }

}  // namespace

uint64_t placed_tensor_bytes(const plan::TensorEntry& t) { return align(t.data.size) + align(t.scales.size); }

std::string expert_op_key(int program, const plan::Op& op) { return (program == 0 ? "" : "mtp:") + op.label; }

std::vector<ExpertUnit> routed_experts(const plan::Manifest& m) {
  std::vector<ExpertUnit> units;
  for (int pi = 0; pi < 2; ++pi) {
    const auto& ops = program_of(m, pi).ops;
    for (size_t i = 0; i < ops.size(); ++i) {
      const plan::Op& op = ops[i];
      if (op.kind != plan::OpKind::kMoeExperts) continue;
      const auto it = op.ints.find("experts");
      if (it == op.ints.end() || it->second <= 0 || static_cast<int64_t>(op.weights.size()) != 2 * it->second) continue;
      const auto experts = static_cast<size_t>(it->second);
      for (size_t e = 0; e < experts; ++e) {
        ExpertUnit u;
        u.program = pi;
        u.op = i;
        u.expert = static_cast<uint32_t>(e);
        u.gate_up = op.weights[e];
        u.down = op.weights[experts + e];
        if (u.gate_up < 0 || u.down < 0 || static_cast<size_t>(u.gate_up) >= m.tensors.size() ||
            static_cast<size_t>(u.down) >= m.tensors.size())
          continue;
        const plan::TensorEntry& gu = m.tensors[static_cast<size_t>(u.gate_up)];
        const plan::TensorEntry& dn = m.tensors[static_cast<size_t>(u.down)];
        u.bytes = placed_tensor_bytes(gu) + placed_tensor_bytes(dn);
        u.read_bytes = gu.data.size + gu.scales.size + dn.data.size + dn.scales.size;
        units.push_back(u);
      }
    }
  }
  return units;
}

std::vector<ExpertUnit> rank_experts(const plan::Manifest& m, std::vector<ExpertUnit> units, const ExpertCounts* counts) {
  auto count = [&](const ExpertUnit& u) -> uint64_t {
    if (!counts) return 0;
    const auto it = counts->find(expert_op_key(u.program, program_of(m, u.program).ops[u.op]));
    return it != counts->end() && u.expert < it->second.size() ? it->second[u.expert] : 0;
  };
  std::stable_sort(units.begin(), units.end(), [&](const ExpertUnit& a, const ExpertUnit& b) {
    const uint64_t ca = count(a), cb = count(b);
    if (ca != cb) return ca > cb;
    if (a.expert != b.expert) return a.expert < b.expert;
    if (a.program != b.program) return a.program < b.program;
    return a.op < b.op;
  });
  return units;
}

ExpertPlacement place_experts(const plan::Manifest& m, const std::vector<ExpertUnit>& ranked, uint64_t room) {
  ExpertPlacement p;
  p.tensor_on_host.assign(m.tensors.size(), false);
  bool full = false;
  for (const ExpertUnit& u : ranked) {
    ++p.experts;
    p.expert_bytes += u.bytes;
    // A strict prefix: once one expert does not fit, colder ones do not jump the queue.
    if (!full && p.expert_device_bytes + u.bytes <= room) {
      p.expert_device_bytes += u.bytes;
      ++p.experts_on_device;
      continue;
    }
    full = true;
    p.tensor_on_host[static_cast<size_t>(u.gate_up)] = true;
    p.tensor_on_host[static_cast<size_t>(u.down)] = true;
  }
  return p;
}

ExpertTraffic expert_traffic(const plan::Manifest& m, const std::vector<ExpertUnit>& units, const ExpertPlacement& placement,
                             const ExpertCounts& counts) {
  ExpertTraffic t;
  std::map<size_t, uint64_t> uses_per_op;
  for (const ExpertUnit& u : units) {
    if (u.program != 0) continue;
    const auto it = counts.find(expert_op_key(0, m.main.ops[u.op]));
    if (it == counts.end() || u.expert >= it->second.size()) continue;
    const uint64_t n = it->second[u.expert];
    uses_per_op[u.op] += n;
    t.uses += n;
    t.bytes += n * u.read_bytes;
    if (static_cast<size_t>(u.gate_up) < placement.tensor_on_host.size() && placement.tensor_on_host[static_cast<size_t>(u.gate_up)]) {
      t.host_uses += n;
      t.host_bytes += n * u.read_bytes;
    }
  }
  for (const auto& [op, n] : uses_per_op) {
    const auto k = m.main.ops[op].ints.find("top_k");
    if (k != m.main.ops[op].ints.end() && k->second > 0) t.tokens = std::max(t.tokens, n / static_cast<uint64_t>(k->second));
  }
  return t;
}

std::vector<double> calibration_scores(const plan::Manifest& m, const std::vector<ExpertUnit>& units,
                                       const std::vector<uint32_t>& top_k, const ExpertCounts& counts, double decay) {
  std::map<std::string, double> sums;
  for (const auto& [key, c] : counts) {
    sums[key] = std::accumulate(c.begin(), c.end(), 0.0, [](double a, uint64_t b) { return a + static_cast<double>(b); });
  }
  std::vector<double> scores(units.size(), 0.0);
  for (size_t i = 0; i < units.size(); ++i) {
    const ExpertUnit& u = units[i];
    const auto it = counts.find(expert_op_key(u.program, program_of(m, u.program).ops[u.op]));
    if (it == counts.end() || u.expert >= it->second.size() || sums[it->first] == 0) continue;
    scores[i] = static_cast<double>(it->second[u.expert]) / sums[it->first] * top_k[i] / (1.0 - decay);
  }
  return scores;
}

Status save_expert_counts(const std::string& path, const ExpertCounts& counts, uint64_t tokens) {
  Json ops = Json::object();
  for (const auto& [key, c] : counts) ops[key] = c;
  const Json j = {{"format", kFormat}, {"version", 1}, {"tokens", tokens}, {"ops", ops}};
  std::ofstream out(path, std::ios::binary | std::ios::trunc);
  if (!out) return make_error(ErrorCode::kIo, path + ": cannot open for writing");
  out << j.dump(1) << "\n";
  out.close();
  if (!out) return make_error(ErrorCode::kIo, path + ": write failed");
  return ok_status();
}

Result<ExpertCounts> load_expert_counts(const std::string& path, const plan::Manifest& m) {
  R1VK_ASSIGN_OR_RETURN(Json j, read_json_file(path, kMaxCountsFileBytes));
  auto bad = [&](const std::string& why) { return make_error(ErrorCode::kCorruptData, path + ": " + why); };
  if (!j.is_object() || !j.contains("format") || j["format"] != kFormat)
    return bad(std::string("not an expert-counts file (\"format\" must be \"") + kFormat + "\")");
  if (!j.contains("version") || j["version"] != 1) return bad("unsupported version (1 is known)");
  if (!j.contains("ops") || !j["ops"].is_object()) return bad("\"ops\" must be an object of count arrays");
  std::map<std::string, size_t> experts_of;
  for (const ExpertUnit& u : routed_experts(m)) {
    auto& n = experts_of[expert_op_key(u.program, program_of(m, u.program).ops[u.op])];
    n = std::max<size_t>(n, u.expert + 1);
  }
  ExpertCounts counts;
  for (const auto& [key, value] : j["ops"].items()) {
    const auto it = experts_of.find(key);
    if (it == experts_of.end()) return bad("op '" + key + "' is not a routed-expert op of this plan");
    if (!value.is_array() || value.size() != it->second)
      return bad("op '" + key + "' needs an array of " + std::to_string(it->second) + " counts");
    std::vector<uint64_t> c;
    for (const Json& v : value) {
      if (!v.is_number_unsigned()) return bad("op '" + key + "': counts must be non-negative integers");
      c.push_back(v.get<uint64_t>());
    }
    counts[key] = std::move(c);
  }
  return counts;
}

}  // namespace r1vk::exec
