// The dispatch program of a plan: an ordered list of ops over activation values, weight tensors
// and the KV cache, for a chunk of T tokens (T = 1 for a decode step, up to the prefill chunk
// size for prefill). Compiler and runtime share these types; the manifest stores them as JSON.
//
// Every activation value is a row-major [T, width] matrix in one arena; an ActRef names columns
// [col, col + cols) of it, so ops can read heads or halves in place. The runtime turns each op
// into one or more kernel dispatches chosen for the device; extents scale with T.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <vector>

#include "base/status.h"

namespace r1vk::plan {

enum class OpKind : uint8_t {
  kEmbed,          // out[t] = table[tokens[t]]                       weights: table
  kRmsNorm,        // out = in / rms(in) * w                           weights: w; ints: none; reals: eps
  kLinear,         // out (+)= W in (+ bias)                           weights: W [, bias]; ints: accumulate
  kLinearHeads,    // per head h: out[h] = W[h] in[h]                  weights: W [heads*rows, cols]; ints: heads
  kRope,           // rotates `dim` columns of each head in place      ints: heads, head_stride, dim, style
  kSwiGlu,         // out = silu(in[:, :n]) * in[:, n:]
  kMlaKvStore,     // cache[layer][pos] = [rmsnorm(latent), rope(k_pe)] weights: kv_a_layernorm; ints: layer
  kMlaAttention,   // out_lat[h] = softmax(s (q_lat·latent + q_pe·k_pe)) latent   ints: layer, heads; reals: scale
  kGqaKvStore,     // k/v cache[layer][pos] = k, v                     ints: layer
  kGqaAttention,   // out[h] = softmax(s q·k) v over the group's kv head        ints: layer, heads, kv_heads
  kMoeRoute,       // router scores -> top-k expert ids and weights   weights: [bias]; ints/reals: routing
  kMoeExperts,     // out += sum_k w_k expert_{id_k}(in)               weights: gate_up, down (stacked)
  kCount,
};

const char* op_kind_name(OpKind kind);
Result<OpKind> parse_op_kind(const std::string& name);

enum class ValueType : uint8_t { kF32, kI32 };

struct Value {
  std::string name;
  int64_t width = 0;  // columns per token row
  ValueType type = ValueType::kF32;
  uint64_t offset = 0;  // byte offset in the activation arena (per the plan's max T)
};

struct ActRef {
  int32_t value = -1;
  int64_t col = 0;
  int64_t cols = 0;
};

struct Op {
  OpKind kind = OpKind::kLinear;
  std::string label;               // where in the model: "layers.3.attn.q_b"
  std::vector<ActRef> inputs;
  std::vector<ActRef> outputs;
  std::vector<int32_t> weights;    // indices into the plan's tensor table
  std::map<std::string, int64_t> ints;
  std::map<std::string, double> reals;
};

struct Program {
  std::vector<Value> values;
  std::vector<Op> ops;
  int32_t tokens_value = -1;  // I32 [T, 1]: the chunk's token ids (input)
  int32_t logits_value = -1;  // F32 [T, vocab]: output
  int32_t hidden_value = -1;  // F32 [T, hidden]: normed final hidden state (MTP input)
};

}  // namespace r1vk::plan
