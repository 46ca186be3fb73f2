// How many weight bytes one decode token reads from device memory: the numerator of the decode
// bandwidth roofline (tokens/s <= bandwidth / bytes per token). Benchmarks divide measured
// tokens/s by it to report the fraction of the roofline a model reaches.
#pragma once

#include <cstdint>

#include "plan/manifest.h"

namespace r1vk::plan {

struct DecodeTraffic {
  uint64_t weight_bytes = 0;  // per token: dense weights + top_k / experts of each routed-expert stack
  uint64_t routed_expert_bytes = 0;  // the routed-expert part of weight_bytes
  uint64_t embedding_bytes = 0;      // one embedding row per token (not the whole table)
  // Everything but the routed experts: always read from device memory.
  uint64_t dense_bytes() const { return weight_bytes - routed_expert_bytes; }
};

// From the main program of `m`: every op's weights (data + scales) once, except the embedding
// (one row per token) and routed-expert stacks, of which a token reads top_k experts of
// `experts` (ints of the kMoeExperts op). KV cache reads are not counted (they grow with the
// context; at context 0 they are nil).
DecodeTraffic decode_traffic(const Manifest& m);

// Decode tokens/s when reading weights is the only cost: a token reads device_bytes from device
// memory at device_gbps and host_bytes from host memory over the bus at bus_gbps (GB/s = 1e9
// bytes/s), one after the other (each layer's experts wait for their slowest read). KV reads,
// compute and launch overheads are left out, so this is an upper bound. 0 when nothing is read
// or a bandwidth is not positive.
double projected_tokens_per_s(uint64_t device_bytes, uint64_t host_bytes, double device_gbps, double bus_gbps);

}  // namespace r1vk::plan
