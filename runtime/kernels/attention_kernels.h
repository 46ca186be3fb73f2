// Kernels of the remaining plan ops: rmsnorm, swiglu, rope, the MLA and GQA KV-cache stores and
// attentions, the MoE router and the sampler. Semantics: tests/reference/program_interpreter.cpp
// (and tests/reference/reference_moe.cpp route() for the router). Rows t at or past
// StepParams.n_tokens are not touched; row t is at position StepParams.pos0 + t.
#pragma once

#include <cstdint>
#include <optional>

#include "base/status.h"
#include "kernels/pipeline_set.h"
#include "kernels/views.h"
#include "vulkan/command_buffer.h"

namespace r1vk::kernels {

// Rotary table built by the executor in f64 and stored as f32: entry [pos][i] is
// vec2(cos(pos * f_i), sin(pos * f_i)) * magnitude, for pos < max_context and i < dim / 2.
struct RopeTable {
  VkDeviceAddress addr = 0;
  uint32_t pairs = 0;  // dim / 2
  uint32_t max_context = 0;
};

// One layer's KV cache: a pool of `rows` f16 rows of `width` values in blocks of block_tokens
// rows. Position p of the sequence in step slot s is pool row
// table[s][p / block_tokens] * block_tokens + p % block_tokens (StepParams block table).
// Defaults (0) describe one contiguous cache: one block of max_context rows, table {0}.
struct CacheView {
  VkDeviceAddress addr = 0;
  uint32_t width = 0;
  uint32_t max_context = 0;   // positions per sequence
  uint32_t block_tokens = 0;  // 0: max_context
  uint32_t rows = 0;          // rows in the pool; 0: max_context
  uint32_t block_rows() const { return block_tokens ? block_tokens : max_context; }
  uint32_t pool_rows() const { return rows ? rows : max_context; }
};

struct MlaAttentionArgs {
  ActView q_latent;          // [T, heads * kv_lora_rank]
  ActView q;                 // [T, heads * q_head_stride]; q_pe at q_rope_offset of each head
  uint32_t heads = 0, kv_lora_rank = 0, rope_dim = 0, q_head_stride = 0, q_rope_offset = 0;
  float scale = 0.0f;
  CacheView cache;           // rows [latent (kv_lora_rank) | k_pe (rope_dim)]
  ActView out;               // [T, heads * kv_lora_rank]
  VkDeviceAddress scratch = 0;  // mla_scratch_bytes()
  // Keys per split; 0: mla_split_len(). Another length needs attention_scratch_bytes() of it.
  uint32_t split_len = 0;
};

struct GqaAttentionArgs {
  ActView q;                 // [T, heads * head_dim]
  uint32_t heads = 0, kv_heads = 0, head_dim = 0;
  float scale = 0.0f;
  CacheView cache;           // rows [K (kv_heads*head_dim) | V (kv_heads*head_dim)]
  ActView out;               // [T, heads * head_dim]
  VkDeviceAddress scratch = 0;  // gqa_scratch_bytes()
  uint32_t split_len = 0;    // keys per split; 0: gqa_split_len()
};

struct RouteArgs {
  ActView logits;            // [T, experts] router logits
  VkDeviceAddress bias = 0;  // f32 [experts] correction bias, or 0
  uint32_t experts = 0, top_k = 0, n_group = 1, topk_group = 1;
  bool sigmoid = false;
  uint32_t group_score = 0;  // 0 plain top-k, 1 max of group (V2), 2 sum of top-2 (V3/R1)
  bool normalize = false;
  float scaling = 1.0f;
  ActView ids;               // [T, top_k] i32
  ActView weights;           // [T, top_k] f32
  // u32 [experts] use counters, or 0: each row adds 1 to the counter of every expert it chose
  // (atomically), which measures routing skew and ranks experts for the device-memory budget.
  VkDeviceAddress counters = 0;
};

// The texel-cache choice of the attention kernels and how often it was taken.
struct CacheTexels {
  std::optional<bool> forced;
  uint64_t dispatches = 0;
  uint64_t query_dispatches = 0;  // those that read the queries as texels too
};

// Every record_* checks its shapes (an error value, never an out-of-bounds dispatch) and records
// its dispatches with barriers between its own passes only: the caller orders it against the
// kernels before and after (a compute barrier between dependent kernels). Scratch-size functions
// may return 0 (the context fits one split); the scratch address may then be 0.
class AttentionKernels {
 public:
  explicit AttentionKernels(PipelineSet& pipelines);

  // out = in / sqrt(mean(in^2) + eps) * weight (f32 [in.cols]).
  Status record_rmsnorm(vk::CommandBuffer& cmd, const ActView& in, VkDeviceAddress weight, float eps, const ActView& out,
                        const StepView& step);
  // out[t, i] = silu(in[t, i]) * in[t, n + i], n = out.cols, in.cols == 2n.
  Status record_swiglu(vk::CommandBuffer& cmd, const ActView& in, const ActView& out, const StepView& step);
  // Rotates `dim` values at `offset` of each head (stride head_stride) of x in place:
  // interleaved pairs (x[2i], x[2i+1]) or NeoX halves (x[i], x[i + dim/2]).
  Status record_rope(vk::CommandBuffer& cmd, const ActView& x, uint32_t heads, uint32_t head_stride, uint32_t offset,
                     uint32_t dim, bool interleaved, const RopeTable& rope, const StepView& step);
  // cache[row of (seq_t, pos_t)] = f16([rmsnorm(kv[t, :c]) * norm_weight, rope_interleaved(kv[t, c:c+dr])]).
  Status record_mla_kv_store(vk::CommandBuffer& cmd, const ActView& kv, VkDeviceAddress norm_weight, float eps,
                             uint32_t kv_lora_rank, uint32_t rope_dim, const RopeTable& rope, const CacheView& cache,
                             const StepView& step);
  // Absorbed MLA over the row's sequence's positions 0..pos_t (causal); softmax in f32. Long contexts are split
  // across workgroups and merged (and every per-invocation loop stays under 65535 trips).
  // Prefill rows each walk their own keys (tiled, online softmax); blocks of heads share loads.
  // Needs rope_dim <= 64 (the split length is planned for 64).
  Status record_mla_attention(vk::CommandBuffer& cmd, const MlaAttentionArgs& args, const StepView& step);
  static uint64_t mla_scratch_bytes(uint32_t max_tokens, uint32_t heads, uint32_t kv_lora_rank, uint32_t max_context);
  // cache[row of (seq_t, pos_t)] = f16(kv[t, :]) (K then V).
  Status record_gqa_kv_store(vk::CommandBuffer& cmd, const ActView& kv, const CacheView& cache, const StepView& step);
  Status record_gqa_attention(vk::CommandBuffer& cmd, const GqaAttentionArgs& args, const StepView& step);
  static uint64_t gqa_scratch_bytes(uint32_t max_tokens, uint32_t heads, uint32_t head_dim, uint32_t max_context);
  // Keys per split of the attention kernels (a context of at most this many keys needs no
  // scratch: one split writes the output directly). Decode (max_tokens 1) splits at <= 1024 keys
  // to spread one token over more workgroups; prefill uses the longest split the loop limit allows.
  static uint32_t mla_split_len(uint32_t max_tokens, uint32_t kv_lora_rank);
  static uint32_t gqa_split_len(uint32_t max_tokens, uint32_t head_dim);
  // Scratch for an explicit split length: max_tokens * heads * splits * (2 + value_dims) floats.
  static uint64_t attention_scratch_bytes(uint32_t max_tokens, uint32_t heads, uint32_t value_dims, uint32_t max_context,
                                          uint32_t split_len);
  // MoE routing per row, exactly as ref::route() (ties to the lower expert index).
  Status record_moe_route(vk::CommandBuffer& cmd, const RouteArgs& args, const StepView& step);
  // Picks the next token from the sample's logits row (vocab = logits.cols) and writes
  // it as u32 to out_token[0] and, when next_tokens != 0, to next_tokens[row] (row: the sample's
  // logits row; the next program's token input, so programs can chain without the host). Greedy when temperature <= 0 (lowest
  // index on ties); else softmax(logits / temperature) restricted by top_k and top_p, drawn with
  // a counter-based RNG of (seed, rng_counter), so a seed reproduces a generation. Exactly:
  //   order tokens by (logit descending, index ascending); top_k (0 or >= vocab: off) keeps the
  //   first k; top_p (>= 1: off) keeps the shortest prefix of those whose probability mass
  //   reaches top_p times the mass top-k kept (top_p <= 0: the first token only); the token is
  //   drawn from the kept probabilities renormalised, u = pcg_hash(seed ^ pcg_hash(counter +
  //   0x9e3779b9)) >> 8 scaled to [0, 1). Records three dispatches (argmax partial + final, draw);
  //   the executor advances rng_counter once per sampled token.
  // With several samples (StepParams n_samples <= max_samples), sample i reads its own row and
  // parameters and writes out_token[i] (and next_tokens[its row]). With greedy_only every
  // sample of the step must have temperature <= 0 (the MTP drafter): the draw pass, which only
  // acts on temperature > 0, is not recorded (one dispatch less).
  Status record_sample(vk::CommandBuffer& cmd, const ActView& logits, VkDeviceAddress out_token,
                       VkDeviceAddress next_tokens, const StepView& step, uint32_t max_samples = 1,
                       bool greedy_only = false);
  static uint64_t sample_scratch_bytes(uint32_t vocab, uint32_t max_samples = 1);
  // out[i, :] = in[row of sample i, :] for the step's samples i < n_samples (at most
  // max_samples; in and out have the same columns). A step that keeps no logits gathers its
  // sampled rows so the output head runs on them alone (shaders/gather_sampled.comp).
  Status record_gather_sampled(vk::CommandBuffer& cmd, const ActView& in, const ActView& out, const StepView& step,
                               uint32_t max_samples);
  // Sampling needs scratch; set once by the executor before record_sample.
  void set_sample_scratch(VkDeviceAddress scratch) { sample_scratch_ = scratch; }
  // Model vocabularies are padded past the tokenizer (R1: 129280 logits, 128815 token ids), and a
  // padding id decodes to nothing. With a limit n (0 = none), command buffers recorded afterwards
  // sample only ids < min(n, vocab): greedy and drawn alike, the other logits are never read.
  // Set by whoever pairs the model with its tokenizer, before sessions record.
  void set_sample_vocab_limit(uint32_t n) { sample_vocab_limit_ = n; }
  uint32_t sample_vocab_limit() const { return sample_vocab_limit_; }

  // MLA and GQA attention read the KV cache as texels (8 halves per fetch, attention_split_tex)
  // on CPU drivers with push descriptors when every offset is a multiple of 8 halves; otherwise
  // through its device address. Tests force the choice (nullopt: the device's); a forced `true`
  // still falls back where the device or the shape cannot.
  void set_cache_texels_override(std::optional<bool> on) { texels_.forced = on; }
  // Attention dispatches recorded with the cache as texels so far, and those of them that read
  // the queries as texels too (every query stride and offset a multiple of 4 values).
  uint64_t cache_texel_dispatches() const { return texels_.dispatches; }
  uint64_t query_texel_dispatches() const { return texels_.query_dispatches; }

 private:
  PipelineSet& pipelines_;
  CacheTexels texels_;
  VkDeviceAddress sample_scratch_ = 0;
  uint32_t sample_vocab_limit_ = 0;
};

}  // namespace r1vk::kernels
