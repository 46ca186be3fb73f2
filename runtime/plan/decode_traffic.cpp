#include "plan/decode_traffic.h"

#include <set>

namespace r1vk::plan {

DecodeTraffic decode_traffic(const Manifest& m) {
  DecodeTraffic t;
  // A tensor shared by several ops (tied embeddings and head) is read by each of them.
  for (const Op& op : m.main.ops) {
    for (int32_t w : op.weights) {
      if (w < 0 || static_cast<size_t>(w) >= m.tensors.size()) continue;
      const TensorEntry& e = m.tensors[static_cast<size_t>(w)];
      const uint64_t bytes = e.data.size + e.scales.size;
      if (op.kind == OpKind::kEmbed) {
        const uint64_t row = e.rows > 0 ? bytes / static_cast<uint64_t>(e.rows) : 0;
        t.embedding_bytes += row;
        t.weight_bytes += row;
      } else if (op.kind == OpKind::kMoeExperts) {
        const auto experts = op.ints.find("experts");
        const auto top_k = op.ints.find("top_k");
        if (experts == op.ints.end() || top_k == op.ints.end() || experts->second <= 0) continue;
        const uint64_t part = bytes / static_cast<uint64_t>(experts->second) * static_cast<uint64_t>(top_k->second);
        t.routed_expert_bytes += part;
        t.weight_bytes += part;
      } else {
        t.weight_bytes += bytes;
      }
    }
  }
  return t;
}

double projected_tokens_per_s(uint64_t device_bytes, uint64_t host_bytes, double device_gbps, double bus_gbps) {
  if (device_gbps <= 0 || bus_gbps <= 0 || device_bytes + host_bytes == 0) return 0;
  const double seconds = static_cast<double>(device_bytes) / (device_gbps * 1e9) + static_cast<double>(host_bytes) / (bus_gbps * 1e9);
  return 1.0 / seconds;
}

}  // namespace r1vk::plan
