// AttentionKernels: MLA (absorbed) and GQA attention over the f16 cache. Both run
// attention_split.comp (one workgroup per row, head and split of the keys, online softmax over
// tiles of keys) and, when the context needs more than one split, attention_merge.comp.
#include "kernels/attention_kernels.h"

#include <algorithm>
#include <optional>
#include <span>
#include <string>

#include "kernels/attention_record_util.h"
#include "vulkan/context.h"

namespace r1vk::kernels {

using detail::check_step;
using detail::check_view;
using detail::invalid;

namespace {

constexpr uint32_t kMinGroupSize = 16;  // attention_split's workgroup: 16..64 invocations, by value width
constexpr uint32_t kMaxGroupSize = 64;
constexpr uint32_t kKeysPerLane = 4;  // keys per invocation in the score pass (KPL)
constexpr uint32_t kMergeGroup = 64;
constexpr uint32_t kMaxQueryDims = 2048;  // shared-memory query of attention_split
constexpr uint32_t kDecodeSplitCap = 1024;  // decode: more splits, more workgroups over the keys

struct SplitParams {
  VkDeviceAddress qa, qb, cache, part, step;
  uint32_t qa_stride, qa_head, qb_stride, qb_head, qb_off, na, nb, kb_off, v_off, dv, width, max_context;
  uint32_t heads, group, kv_head_stride, split_len, n_splits;
  float scale;
  uint32_t out_stride, records;
  uint32_t block_tokens, pool_rows;
};
static_assert(sizeof(SplitParams) <= 128, "push constants are limited to 128 bytes on many devices");
struct MergeParams {
  VkDeviceAddress part, y, step;
  uint32_t heads, dv, split_len, n_splits, records, max_context, out_stride;
};

// The generic attention of one split kernel: query parts a (and b), key parts at kv-head
// offset (and kb_off), values at v_off + kv-head offset.
struct AttentionShape {
  ActView qa, qb, out;
  uint32_t qa_head = 0, qb_head = 0, qb_off = 0, na = 0, nb = 0, kb_off = 0, v_off = 0, dv = 0;
  uint32_t heads = 0, group = 1, kv_head_stride = 0;
  float scale = 0;
  CacheView cache;
  VkDeviceAddress scratch = 0;
  uint32_t split_len = 0;
  uint32_t plan_q_dims = 0;  // query length the split length is planned for (>= na + nb)
  bool plan_vec4 = false;    // the plan assumes 4-half loads
};

bool vec4_ok(const AttentionShape& s) {
  return s.na % 4 == 0 && s.nb % 4 == 0 && s.kb_off % 4 == 0 && s.v_off % 4 == 0 && s.dv % 4 == 0 &&
         s.cache.width % 4 == 0 && s.kv_head_stride % 4 == 0;
}

// The workgroup of attention_split: enough invocations for each to own one value group (4 values
// with VEC4, else 1) of a head's output, as a power of two in [16, 64]. In the value pass only
// the owners work while every invocation walks the tile's keys, so a workgroup wider than the
// value groups idles: measured on lavapipe with the demo model (dv = 64, 16 value groups), 16
// decode rows at context 64 took ~14 ms CPU in attention with 64 invocations and ~5 ms with 16
// (also a 4x smaller key tile, which a short context fills). Wide values (R1: 512 -> 128 groups)
// keep 64 for decode, the size the loop-trip budget and KPL were measured at (docs/runtime.md);
// steps of several rows on CPU drivers narrow it to 16 (record_attention).
uint32_t group_size(uint32_t dv, bool vec4) {
  const uint32_t groups = vec4 ? (dv + 3) / 4 : dv;
  uint32_t g = kMinGroupSize;
  while (g < groups && g < kMaxGroupSize) g *= 2;
  return g;
}

uint32_t own_groups(uint32_t dv, bool vec4, uint32_t wg) { return (dv + (vec4 ? 4 : 1) * wg - 1) / ((vec4 ? 4 : 1) * wg); }

// Heads per workgroup that fit the query and score tiles in 16 KiB of shared memory (the Vulkan
// minimum of maxComputeSharedMemorySize), at most 8.
uint32_t max_heads_per_group(uint32_t q_dims, uint32_t wg) {
  const uint32_t qmax = (q_dims + 3) / 4 * 4;
  uint32_t hb = 8;
  // q tile hb * qmax floats; a vec4 per 4 heads for each invocation's maximum score and for
  // each key's probability.
  while (hb > 1 && hb * qmax * 4 + ((hb + 3) / 4) * (wg + wg * kKeysPerLane) * 16 > 16384) hb /= 2;
  return hb;
}

// Loop trips one invocation of attention_split runs per tile of keys, counting every loop over
// the HB heads and KPL keys as if the compiler kept it: the dot product, the tile max and the
// accumulation over the tile's keys and owned outputs.
uint64_t trips_per_tile(uint32_t q_dims, uint32_t dv, bool vec4, uint32_t hb, uint32_t wg) {
  const uint64_t own = own_groups(dv, vec4, wg);
  const uint64_t keys_per_tile = uint64_t{wg} * kKeysPerLane;
  return uint64_t{vec4 ? q_dims / 4 : q_dims} * (1 + kKeysPerLane + hb * (1 + kKeysPerLane)) +
         uint64_t{hb} * (keys_per_tile + 2) * kKeysPerLane +
         keys_per_tile * (1 + hb + own * (1 + hb)) + 4;
}

// Planned for the largest head block the query allows (a smaller block only runs fewer trips);
// half the limit leaves a margin for loops the compiler may add.
uint32_t split_len_for(uint32_t max_tokens, uint32_t q_dims, uint32_t dv, bool vec4) {
  const uint32_t wg = group_size(dv, vec4);
  const uint32_t hb = max_heads_per_group(q_dims, wg);
  const uint64_t budget = vk::kLoopIterationLimit / 2 - uint64_t{q_dims} * hb - 4 * own_groups(dv, vec4, wg) * hb - 64;
  uint64_t tiles = std::max<uint64_t>(1, budget / trips_per_tile(q_dims, dv, vec4, hb, wg));
  uint64_t len = tiles * wg * kKeysPerLane;
  if (max_tokens == 1) len = std::min<uint64_t>(len, kDecodeSplitCap);
  return static_cast<uint32_t>(len);
}

uint32_t split_count(uint32_t max_context, uint32_t split_len) { return (max_context + split_len - 1) / split_len; }

uint64_t scratch_bytes(uint32_t max_tokens, uint32_t heads, uint32_t dv, uint32_t max_context, uint32_t split_len) {
  const uint32_t n = split_count(max_context, split_len);
  if (n <= 1) return 0;  // one split writes the output directly
  return uint64_t{max_tokens} * heads * n * (2 + uint64_t{dv}) * 4;
}

// The views attention_split_tex reads: the cache and, when `query`, query part a and query part b
// (qa's view again when there is no part b), each starting at a multiple of 4 f32 elements of
// its view. Without `query` the kernel reads the queries through their addresses and qa / qb
// are the cache's view (bound, unused).
struct AttentionTexels {
  vk::TexelSpan cache, qa, qb;
  bool query = false;
};

// `elements` f32 values from `addr` in a texel view (BufferDirectory::texel_window), starting on
// a texel; nullopt otherwise.
std::optional<vk::TexelSpan> texel_aligned_window(vk::Context& ctx, VkDeviceAddress addr, uint64_t elements) {
  auto span = ctx.allocator().directory().texel_window(addr, elements);
  if (span && span->element % 4 != 0) return std::nullopt;
  return span;
}

// The views for attention_split_tex: CPU drivers with push descriptors, where a texel fetch is one
// gather (8 halves of the cache, 4 query values) and a device-address or shared-memory load a
// loop over the lanes. Every offset the kernel reads the cache at (key parts, values, row
// starts, the cache's own start) must be a multiple of 8 halves and the whole pool must lie in
// its view with half indices below 2^32 (else nullopt: the device-address kernel runs). The
// queries come from texels too when every query offset (row strides, head strides, the rope
// offset, each part's start) is a multiple of 4 values and the step's max_tokens rows lie in
// the views. `forced` (tests): true takes it on any device with push descriptors, false never.
std::optional<AttentionTexels> attention_texels(vk::Context& ctx, const AttentionShape& s, bool vec4, uint32_t max_tokens,
                                                std::optional<bool> forced) {
  const vk::DeviceCaps& caps = ctx.caps();
  const bool wanted = forced.value_or(caps.type == VK_PHYSICAL_DEVICE_TYPE_CPU);
  if (!wanted || !caps.push_descriptor || !vec4) return std::nullopt;
  if (s.na % 8 != 0 || s.nb % 8 != 0 || s.kb_off % 8 != 0 || s.v_off % 8 != 0 || s.dv % 8 != 0 ||
      s.cache.width % 8 != 0 || s.kv_head_stride % 8 != 0)
    return std::nullopt;
  AttentionTexels t;
  const uint64_t halves = uint64_t{s.cache.pool_rows()} * s.cache.width;  // even: width % 8 == 0
  const auto cache = texel_aligned_window(ctx, s.cache.addr, halves / 2);
  if (!cache || 2 * cache->element + halves > UINT32_MAX) return std::nullopt;  // half indices
  t.cache = t.qa = t.qb = *cache;
  const bool qb = s.nb > 0 && s.qb.addr != 0;
  if (s.qa.row_stride % 4 != 0 || s.qa_head % 4 != 0 ||
      (qb && (s.qb.row_stride % 4 != 0 || s.qb_head % 4 != 0 || s.qb_off % 4 != 0)))
    return t;
  const uint64_t rows = max_tokens - 1;
  const auto qa = texel_aligned_window(ctx, s.qa.addr, rows * s.qa.row_stride + uint64_t{s.heads - 1} * s.qa_head + s.na);
  if (!qa) return t;
  std::optional<vk::TexelSpan> b = qa;
  if (qb) b = texel_aligned_window(ctx, s.qb.addr, rows * s.qb.row_stride + uint64_t{s.heads - 1} * s.qb_head + s.qb_off + s.nb);
  if (!b) return t;
  t.qa = *qa;
  t.qb = *b;
  t.query = true;
  return t;
}

Status record_attention(vk::CommandBuffer& cmd, PipelineSet& set, const AttentionShape& s, const StepView& step,
                        const std::string& k, CacheTexels& texels) {
  R1VK_TRY(check_step(k, step));
  if (s.heads == 0 || s.na == 0 || s.dv == 0) return invalid(k, "heads and head dimensions must be positive");
  if (s.cache.addr == 0 || s.cache.width == 0 || s.cache.max_context == 0) return invalid(k, "no cache");
  if (!(s.scale > 0.0f)) return invalid(k, "softmax scale must be positive");
  if (s.na + s.nb > kMaxQueryDims) return invalid(k, "query of " + std::to_string(s.na + s.nb) + " values per head exceeds 2048");
  const bool vec4 = vec4_ok(s);
  const uint32_t split = s.split_len ? s.split_len : split_len_for(step.max_tokens, s.plan_q_dims, s.dv, s.plan_vec4);
  const uint32_t n_splits = split_count(s.cache.max_context, split);
  // Heads per workgroup for a workgroup size, and the loop trips of one invocation over a split.
  auto heads_per_group = [&](uint32_t wg) {
    uint32_t hb = std::min(max_heads_per_group(s.na + s.nb, wg), max_heads_per_group(s.plan_q_dims, wg));
    while (s.group % hb != 0) hb /= 2;
    return hb;
  };
  auto split_trips = [&](uint32_t wg) {
    const uint64_t keys_per_tile = uint64_t{wg} * kKeysPerLane;
    const uint64_t tiles = (split + keys_per_tile - 1) / keys_per_tile;
    const uint32_t hb = heads_per_group(wg);
    return tiles * trips_per_tile(s.na + s.nb, s.dv, vec4, hb, wg) + uint64_t{s.na + s.nb} * hb;
  };
  uint32_t wg = group_size(s.dv, vec4);
  // Several rows (prefill chunks, decode batches) on a CPU driver: the narrowest workgroup, each
  // invocation owning more value groups, when the planned split stays within the loop limit.
  // Measured on lavapipe (docs/runtime.md): 16 invocations (8 groups of 4 values each for MLA's
  // 512) cost 1.15-1.4x less CPU than 64 per call, since each probability loaded from shared
  // memory feeds more accumulators and a 64-key tile wastes less past a row's causal end than a
  // 256-key one. Decode keeps its planned split and group (a narrower group needs shorter splits).
  if (step.max_tokens > 1 && set.context().caps().type == VK_PHYSICAL_DEVICE_TYPE_CPU &&
      split_trips(kMinGroupSize) < vk::kLoopIterationLimit)
    wg = kMinGroupSize;
  const uint32_t hb = heads_per_group(wg);
  R1VK_TRY(detail::check_loop(k, split_trips(wg)));
  const uint64_t records = uint64_t{step.max_tokens} * s.heads * n_splits;
  if (records * (2 + uint64_t{s.dv}) > UINT32_MAX) return make_error(ErrorCode::kOutOfRange, k + ": scratch exceeds 2^32 values");
  const bool direct = n_splits == 1;
  if (!direct && s.scratch == 0) return invalid(k, "the context needs " + std::to_string(n_splits) + " splits but no scratch was given");
  const uint32_t qmax = (s.na + s.nb + 3) / 4 * 4;
  const SplitParams p{s.qa.addr, s.qb.addr ? s.qb.addr : s.qa.addr, s.cache.addr, direct ? s.out.addr : s.scratch,
                      step.params, s.qa.row_stride, s.qa_head, s.qb.row_stride, s.qb_head, s.qb_off, s.na, s.nb,
                      s.kb_off, s.v_off, s.dv, s.cache.width, s.cache.max_context, s.heads, s.group, s.kv_head_stride,
                      split, n_splits, s.scale, s.out.row_stride, static_cast<uint32_t>(records),
                      s.cache.block_rows(), s.cache.pool_rows()};
  const std::vector<uint32_t> spec{wg, vec4 ? 1u : 0u, own_groups(s.dv, vec4, wg), qmax, direct ? 1u : 0u, hb, kKeysPerLane};
  if (const auto tex = attention_texels(set.context(), s, vec4, step.max_tokens, texels.forced)) {
    ++texels.dispatches;
    if (tex->query) ++texels.query_dispatches;
    // Texels: p.cache carries the cache's first half within its view and, with query texels,
    // p.qa / p.qb the query parts' first elements within theirs, instead of addresses.
    SplitParams pt = p;
    pt.cache = 2 * tex->cache.element;
    if (tex->query) {
      pt.qa = tex->qa.element;
      pt.qb = tex->qb.element;
    }
    std::vector<uint32_t> tex_spec = spec;
    tex_spec.push_back(tex->query ? 1u : 0u);  // Q_TEXELS
    const VkBufferView views[3] = {tex->cache.view, tex->qa.view, tex->qb.view};
    R1VK_TRY(detail::record(cmd, set, "attention_split_tex", tex_spec, pt, records / hb, k, views));
  } else {
    R1VK_TRY(detail::record(cmd, set, "attention_split", spec, p, records / hb, k));
  }
  if (direct) return ok_status();
  cmd.compute_barrier();
  const MergeParams m{s.scratch, s.out.addr, step.params, s.heads, s.dv, split, n_splits,
                      static_cast<uint32_t>(records), s.cache.max_context, s.out.row_stride};
  return detail::record(cmd, set, "attention_merge", {kMergeGroup}, m, uint64_t{step.max_tokens} * s.heads, k);
}

}  // namespace

constexpr uint32_t kMlaPlannedRopeDim = 64;  // every DeepSeek model; larger rope parts are refused

uint32_t AttentionKernels::mla_split_len(uint32_t max_tokens, uint32_t kv_lora_rank) {
  return split_len_for(max_tokens, kv_lora_rank + kMlaPlannedRopeDim, kv_lora_rank, kv_lora_rank % 4 == 0);
}

uint32_t AttentionKernels::gqa_split_len(uint32_t max_tokens, uint32_t head_dim) {
  return split_len_for(max_tokens, head_dim, head_dim, head_dim % 4 == 0);
}

Status AttentionKernels::record_mla_attention(vk::CommandBuffer& cmd, const MlaAttentionArgs& a, const StepView& step) {
  const std::string k = "mla_attention";
  if (a.heads == 0 || a.kv_lora_rank == 0) return invalid(k, "heads and kv_lora_rank must be positive");
  R1VK_TRY(check_view(k, "q_latent", a.q_latent, a.heads * a.kv_lora_rank));
  R1VK_TRY(check_view(k, "out", a.out, a.heads * a.kv_lora_rank));
  if (a.rope_dim > 0) {
    R1VK_TRY(check_view(k, "q", a.q, a.q.cols));
    if (a.q_rope_offset + a.rope_dim > a.q_head_stride || uint64_t{a.heads} * a.q_head_stride > a.q.cols)
      return invalid(k, "q heads (stride " + std::to_string(a.q_head_stride) + ") do not fit q's " + std::to_string(a.q.cols) + " columns");
  }
  if (a.cache.width != a.kv_lora_rank + a.rope_dim) return invalid(k, "cache rows must hold kv_lora_rank + rope_dim values");
  if (a.rope_dim > kMlaPlannedRopeDim) return invalid(k, "rope_dim above 64 is not supported");
  AttentionShape s;
  s.plan_q_dims = a.kv_lora_rank + kMlaPlannedRopeDim;
  s.plan_vec4 = a.kv_lora_rank % 4 == 0;
  s.qa = a.q_latent;
  s.qb = a.q;
  s.out = a.out;
  s.qa_head = a.kv_lora_rank;
  s.qb_head = a.q_head_stride;
  s.qb_off = a.q_rope_offset;
  s.na = a.kv_lora_rank;
  s.nb = a.rope_dim;
  s.kb_off = a.kv_lora_rank;
  s.v_off = 0;
  s.dv = a.kv_lora_rank;
  s.heads = a.heads;
  s.group = a.heads;  // every head reads the one latent "kv head"
  s.kv_head_stride = 0;
  s.scale = a.scale;
  s.cache = a.cache;
  s.scratch = a.scratch;
  s.split_len = a.split_len;
  return record_attention(cmd, pipelines_, s, step, k, texels_);
}

uint64_t AttentionKernels::mla_scratch_bytes(uint32_t max_tokens, uint32_t heads, uint32_t kv_lora_rank,
                                             uint32_t max_context) {
  return scratch_bytes(max_tokens, heads, kv_lora_rank, max_context, mla_split_len(max_tokens, kv_lora_rank));
}

Status AttentionKernels::record_gqa_attention(vk::CommandBuffer& cmd, const GqaAttentionArgs& a, const StepView& step) {
  const std::string k = "gqa_attention";
  if (a.heads == 0 || a.kv_heads == 0 || a.head_dim == 0 || a.heads % a.kv_heads != 0)
    return invalid(k, "heads must be a positive multiple of kv_heads, head_dim positive");
  R1VK_TRY(check_view(k, "q", a.q, a.heads * a.head_dim));
  R1VK_TRY(check_view(k, "out", a.out, a.heads * a.head_dim));
  if (a.cache.width != 2 * a.kv_heads * a.head_dim) return invalid(k, "cache rows must hold K and V of every kv head");
  AttentionShape s;
  s.plan_q_dims = a.head_dim;
  s.plan_vec4 = a.head_dim % 4 == 0;
  s.qa = a.q;
  s.out = a.out;
  s.qa_head = a.head_dim;
  s.na = a.head_dim;
  s.nb = 0;
  s.v_off = a.kv_heads * a.head_dim;
  s.dv = a.head_dim;
  s.heads = a.heads;
  s.group = a.heads / a.kv_heads;
  s.kv_head_stride = a.head_dim;
  s.scale = a.scale;
  s.cache = a.cache;
  s.scratch = a.scratch;
  s.split_len = a.split_len;
  return record_attention(cmd, pipelines_, s, step, k, texels_);
}

uint64_t AttentionKernels::gqa_scratch_bytes(uint32_t max_tokens, uint32_t heads, uint32_t head_dim, uint32_t max_context) {
  return scratch_bytes(max_tokens, heads, head_dim, max_context, gqa_split_len(max_tokens, head_dim));
}

uint64_t AttentionKernels::attention_scratch_bytes(uint32_t max_tokens, uint32_t heads, uint32_t value_dims,
                                                   uint32_t max_context, uint32_t split_len) {
  return scratch_bytes(max_tokens, heads, value_dims, max_context, split_len);
}

}  // namespace r1vk::kernels
