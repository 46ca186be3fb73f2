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
};

// From the main program of `m`: every op's weights (data + scales) once, except the embedding
// (one row per token) and routed-expert stacks, of which a token reads top_k experts of
// `experts` (ints of the kMoeExperts op). KV cache reads are not counted (they grow with the
// context; at context 0 they are nil).
DecodeTraffic decode_traffic(const Manifest& m);

}  // namespace r1vk::plan
