// MLA (absorbed) and GQA attention against program_interpreter's kMlaAttention / kGqaAttention
// semantics (f64 scores rounded to f32, f32 softmax, f64 sums over the f16 cache): tiny odd
// shapes (scalar path), R1 and Qwen shapes (vector path), prefill rows (causal), decode split
// over long contexts (5000 positions; 70000 positions, whose single-invocation loop would pass
// lavapipe's 65535-trip limit), forced short splits so the merge sees partly empty splits.
// Cache rows past the last position hold huge values, so reading past the causal end fails.
// Head counts cover every head-block size (1, 2, 4, 8 heads per workgroup). The paged cache: rows
// of several sequences at their own positions through a block table; the multi-sample sampler.
#include <cmath>
#include <optional>
#include <vector>

#include "attention_test_util.h"
#include "base/numeric_formats.h"
#include "reference/reference_ops.h"

namespace r1vk {
namespace {

using test::BufferPool;
using test::view;

// f32 accumulation in another order and device exp (a few ULP) on convex combinations of values
// in [-1, 1].
constexpr test::Tolerance kTolAttention{1e-9, 5e-5};

struct CacheData {
  std::vector<uint16_t> bits;
  std::vector<float> values;  // f16 -> f32 of bits
};

CacheData make_cache(uint32_t max_context, uint32_t width, uint32_t last_pos, uint32_t seed) {
  CacheData c;
  c.bits = test::random_f16(size_t{max_context} * width, seed);
  for (size_t i = size_t{last_pos + 1} * width; i < c.bits.size(); ++i) c.bits[i] = f32_to_f16(30000.0f);
  c.values.resize(c.bits.size());
  for (size_t i = 0; i < c.bits.size(); ++i) c.values[i] = f16_to_f32(c.bits[i]);
  return c;
}

// One (row, head) of the interpreter's attention: keys 0..pos, key parts (qa at ka) and (qb at kb).
void reference_head(const CacheData& cache, uint32_t width, uint32_t pos, const float* qa, uint32_t ka, uint32_t na,
                    const float* qb, uint32_t kb, uint32_t nb, uint32_t vo, uint32_t dv, double scale, float* out) {
  std::vector<float> prob(pos + 1);
  for (uint32_t j = 0; j <= pos; ++j) {
    const float* row = cache.values.data() + size_t{j} * width;
    double s = 0.0;
    for (uint32_t i = 0; i < na; ++i) s += static_cast<double>(qa[i]) * row[ka + i];
    for (uint32_t i = 0; i < nb; ++i) s += static_cast<double>(qb[i]) * row[kb + i];
    prob[j] = static_cast<float>(s * scale);
  }
  ref::softmax(prob);
  for (uint32_t i = 0; i < dv; ++i) {
    double acc = 0.0;
    for (uint32_t j = 0; j <= pos; ++j) acc += static_cast<double>(prob[j]) * cache.values[size_t{j} * width + vo + i];
    out[i] = static_cast<float>(acc);
  }
}

// Where the cache sits in its buffer and what it holds (the texel-path tests): `lead` halves of
// other data before it (a sub-allocation; the texel view starts at the buffer, not the cache), and
// `zero_odd`: every odd half of the live rows +-0, so each 32-bit word of the cache is an f32
// denormal whose flush to zero would lose the even half too.
struct CacheLayout {
  uint32_t lead = 0;
  bool zero_odd = false;
};

// The cache buffer of `c` laid out as `l` says; its address is the buffer's plus cache_offset(l).
std::vector<uint16_t> cache_buffer(const CacheData& c, const CacheLayout& l) {
  std::vector<uint16_t> b(l.lead, f32_to_f16(30000.0f));
  b.insert(b.end(), c.bits.begin(), c.bits.end());
  return b;
}
uint64_t cache_offset(const CacheLayout& l) { return 2ull * l.lead; }

void apply_layout(CacheData& c, uint32_t live_halves, const CacheLayout& l) {
  if (!l.zero_odd) return;
  for (size_t i = 1; i < live_halves; i += 2) c.bits[i] = (i / 2) % 2 ? 0x8000 : 0x0000;  // +0 and -0
  for (size_t i = 0; i < c.bits.size(); ++i) c.values[i] = f16_to_f32(c.bits[i]);
}

struct MlaCase {
  uint32_t heads, c, dr, q_head_stride, q_rope_offset;
  uint32_t max_tokens, n_tokens, pos0, max_context;
  uint32_t split_len = 0;  // 0: the kernel's choice
  CacheLayout layout{};
  bool aligned_q = false;  // query row strides of whole texels (else 3 and 1 values of padding)
};

// Runs the kernel; returns (got, want) over the whole output buffer (rows past n_tokens keep 9).
std::pair<std::vector<float>, std::vector<float>> run_mla(const MlaCase& m, float scale_factor = 1.0f) {
  BufferPool pool;
  const uint32_t width = m.c + m.dr, last = m.pos0 + m.n_tokens - 1;
  const uint32_t ql_cols = m.heads * m.c, ql_stride = ql_cols + (m.aligned_q ? 0 : 3), q_cols = m.heads * m.q_head_stride,
                 q_stride = q_cols + (m.aligned_q ? 0 : 1);
  const uint32_t out_stride = ql_cols + 2;
  const double scale = 0.1352338;
  CacheData cache = make_cache(m.max_context, width, last, 61 + m.c);
  apply_layout(cache, (last + 1) * width, m.layout);
  const auto ql = test::random_floats(size_t{m.max_tokens} * ql_stride, 62 + m.heads);
  const auto q = test::random_floats(size_t{m.max_tokens} * q_stride, 63 + m.heads);
  std::vector<float> want(size_t{m.max_tokens} * out_stride, 9.0f);
  const auto& bql = pool.upload(ql, "q_latent");
  const auto& bq = pool.upload(q, "q");
  const auto& bc = pool.upload(cache_buffer(cache, m.layout), "cache");
  const auto& bo = pool.upload(want, "out");
  const uint64_t scratch_bytes =
      m.split_len ? kernels::AttentionKernels::attention_scratch_bytes(m.max_tokens, m.heads, m.c, m.max_context, m.split_len)
                  : kernels::AttentionKernels::mla_scratch_bytes(m.max_tokens, m.heads, m.c, m.max_context);
  const auto& bs = pool.zeros(scratch_bytes, "scratch");
  const auto step = pool.step({m.n_tokens, m.pos0}, m.max_tokens);
  kernels::MlaAttentionArgs a;
  a.q_latent = view(bql, ql_cols, ql_stride);
  a.q = view(bq, q_cols, q_stride);
  a.heads = m.heads;
  a.kv_lora_rank = m.c;
  a.rope_dim = m.dr;
  a.q_head_stride = m.q_head_stride;
  a.q_rope_offset = m.q_rope_offset;
  a.scale = static_cast<float>(scale) * scale_factor;
  a.cache = {bc.address() + cache_offset(m.layout), width, m.max_context};
  a.out = view(bo, ql_cols, out_stride);
  a.scratch = bs.address();
  a.split_len = m.split_len;
  test::run_ok([&](vk::CommandBuffer& cmd) { return test::attention_kernels().record_mla_attention(cmd, a, step); });
  for (uint32_t t = 0; t < m.n_tokens; ++t)
    for (uint32_t h = 0; h < m.heads; ++h)
      reference_head(cache, width, m.pos0 + t, &ql[size_t{t} * ql_stride + h * m.c], 0, m.c,
                     &q[size_t{t} * q_stride + h * m.q_head_stride + m.q_rope_offset], m.c, m.dr, 0, m.c, scale,
                     &want[size_t{t} * out_stride + h * m.c]);
  return {test::download_as<float>(bo, want.size()), want};
}

TEST_CASE("mla attention: tiny odd shapes, prefill and decode") {
  for (const MlaCase& m : {MlaCase{3, 7, 2, 5, 3, 5, 5, 0, 16}, MlaCase{3, 7, 2, 5, 3, 1, 1, 5, 16},
                           MlaCase{2, 8, 4, 12, 8, 4, 3, 2, 9}, MlaCase{1, 1, 2, 2, 0, 2, 2, 0, 3}}) {
    CAPTURE(m.c);
    CAPTURE(m.pos0);
    const auto [got, want] = run_mla(m);
    test::check_close(got, want, kTolAttention);
  }
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("mla attention: R1 shapes (128 heads, 512 + 64), decode and prefill") {
  // Decode at position 1499: two 1024-key splits and a merge.
  for (const MlaCase& m : {MlaCase{128, 512, 64, 192, 128, 1, 1, 1499, 1500}, MlaCase{128, 512, 64, 192, 128, 8, 7, 100, 200}}) {
    CAPTURE(m.max_tokens);
    const auto [got, want] = run_mla(m);
    test::check_close(got, want, kTolAttention);
  }
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("mla attention: long contexts split across workgroups") {
  // 5000 positions: five decode splits.
  {
    const auto [got, want] = run_mla({2, 512, 64, 192, 128, 1, 1, 4999, 5000});
    test::check_close(got, want, kTolAttention);
  }
  // 70000 positions: one invocation walking every key would run far past 65535 loop trips.
  {
    const auto [got, want] = run_mla({1, 64, 64, 128, 64, 2, 2, 69998, 70000});
    test::check_close(got, want, kTolAttention);
  }
  // Short forced splits over a prefill chunk: rows use different numbers of splits.
  {
    const auto [got, want] = run_mla({4, 32, 16, 48, 32, 37, 33, 50, 120, 10});
    test::check_close(got, want, kTolAttention);
  }
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("the attention comparison detects a wrong kernel result") {
  // The same kernel with a 1.5x softmax scale must be outside the tolerance: the check can fail.
  const auto [got, want] = run_mla({3, 7, 2, 5, 3, 5, 5, 0, 16}, 1.5f);
  CHECK_FALSE(test::compare(got, want).within(kTolAttention));
}

struct GqaCase {
  uint32_t heads, kv_heads, d, max_tokens, n_tokens, pos0, max_context;
  uint32_t split_len = 0;
  CacheLayout layout{};
};

void check_gqa(const GqaCase& g) {
  CAPTURE(g.heads);
  CAPTURE(g.d);
  CAPTURE(g.pos0);
  BufferPool pool;
  const uint32_t width = 2 * g.kv_heads * g.d, cols = g.heads * g.d, q_stride = cols + 5, out_stride = cols + 1;
  const double scale = 1.0 / std::sqrt(static_cast<double>(g.d));
  CacheData cache = make_cache(g.max_context, width, g.pos0 + g.n_tokens - 1, 71 + g.d);
  apply_layout(cache, (g.pos0 + g.n_tokens) * width, g.layout);
  const auto q = test::random_floats(size_t{g.max_tokens} * q_stride, 72 + g.heads, -2, 2);
  std::vector<float> want(size_t{g.max_tokens} * out_stride, 9.0f);
  const auto& bq = pool.upload(q, "q");
  const auto& bc = pool.upload(cache_buffer(cache, g.layout), "cache");
  const auto& bo = pool.upload(want, "out");
  const uint64_t scratch_bytes =
      g.split_len ? kernels::AttentionKernels::attention_scratch_bytes(g.max_tokens, g.heads, g.d, g.max_context, g.split_len)
                  : kernels::AttentionKernels::gqa_scratch_bytes(g.max_tokens, g.heads, g.d, g.max_context);
  const auto& bs = pool.zeros(scratch_bytes, "scratch");
  const auto step = pool.step({g.n_tokens, g.pos0}, g.max_tokens);
  kernels::GqaAttentionArgs a;
  a.q = view(bq, cols, q_stride);
  a.heads = g.heads;
  a.kv_heads = g.kv_heads;
  a.head_dim = g.d;
  a.scale = static_cast<float>(scale);
  a.cache = {bc.address() + cache_offset(g.layout), width, g.max_context};
  a.out = view(bo, cols, out_stride);
  a.scratch = bs.address();
  a.split_len = g.split_len;
  test::run_ok([&](vk::CommandBuffer& cmd) { return test::attention_kernels().record_gqa_attention(cmd, a, step); });
  for (uint32_t t = 0; t < g.n_tokens; ++t)
    for (uint32_t h = 0; h < g.heads; ++h) {
      const uint32_t kvh = h / (g.heads / g.kv_heads);
      reference_head(cache, width, g.pos0 + t, &q[size_t{t} * q_stride + h * g.d], kvh * g.d, g.d, nullptr, 0, 0,
                     g.kv_heads * g.d + kvh * g.d, g.d, scale, &want[size_t{t} * out_stride + h * g.d]);
    }
  test::check_close(test::download_as<float>(bo, want.size()), want, kTolAttention);
}

TEST_CASE("mla attention: keys ending inside a tile of four keys per invocation") {
  // A decode tile is 256 keys (64 invocations x 4 keys): key c of an invocation is lid + 64 c. Contexts
  // and forced splits end inside each quarter of a tile and one key past a whole tile, so every
  // key slot of an invocation meets the end of a split.
  for (const MlaCase& m : {MlaCase{4, 512, 64, 576, 512, 1, 1, 40, 41},     // one split, 41 keys
                           MlaCase{4, 512, 64, 576, 512, 1, 1, 100, 101},   // one split, 101 keys
                           MlaCase{4, 512, 64, 576, 512, 1, 1, 128, 129},   // 129 keys
                           MlaCase{4, 512, 64, 576, 512, 1, 1, 249, 250},   // 250 keys
                           MlaCase{4, 512, 64, 576, 512, 1, 1, 256, 257},   // 257 keys: a 1-key tile
                           MlaCase{4, 512, 64, 576, 512, 1, 1, 332, 333, 100},  // 100-key splits, 33 left
                           MlaCase{4, 32, 16, 48, 32, 3, 3, 190, 200, 129},     // 129-key splits, prefill rows
                           MlaCase{4, 30, 6, 36, 30, 2, 2, 199, 201, 70},       // odd widths (scalar path)
                           // Several rows on a CPU driver run 16 invocations x 4 keys (64-key
                           // tiles), each owning 8 of the 128 value groups: rows whose keys end
                           // on both sides of a tile boundary, 9 rows of 16 heads, and a forced
                           // 100-key split ending inside a tile.
                           MlaCase{16, 512, 64, 192, 128, 9, 9, 60, 140},
                           MlaCase{4, 512, 64, 576, 512, 5, 4, 120, 200, 100}}) {
    CAPTURE(m.c);
    CAPTURE(m.pos0);
    CAPTURE(m.split_len);
    const auto [got, want] = run_mla(m);
    test::check_close(got, want, kTolAttention);
  }
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("gqa attention: heads share kv head h / (heads / kv_heads)") {
  check_gqa({4, 2, 8, 5, 5, 0, 16});        // prefill from position 0, one split
  check_gqa({6, 3, 5, 7, 6, 20, 40, 8});    // odd head_dim (scalar path), forced 8-key splits
  check_gqa({28, 4, 128, 1, 1, 2999, 3000});  // Qwen2-7B shape, decode over three splits
  check_gqa({28, 4, 128, 16, 16, 1000, 1100});  // prefill chunk at position 1000
  check_gqa({32, 8, 128, 2, 2, 1500, 1600});    // Llama-8B shape: 4 heads per workgroup
  check_gqa({16, 2, 16, 3, 3, 90, 200, 32});    // 8 heads per workgroup, forced 32-key splits
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("attention rejects bad shapes with an error") {
  BufferPool pool;
  const auto& b = pool.zeros(1 << 16, "b");
  const auto step = pool.step({1, 0}, 1);
  auto cmd = test::context().create_command_buffer();
  REQUIRE(cmd.ok());
  REQUIRE(cmd->begin().ok());
  kernels::GqaAttentionArgs g;
  g.q = view(b, 6 * 8, 48);
  g.heads = 6;
  g.kv_heads = 4;  // not a divisor
  g.head_dim = 8;
  g.scale = 1;
  g.cache = {b.address(), 64, 16};
  g.out = view(b, 48, 48);
  CHECK_FALSE(test::attention_kernels().record_gqa_attention(*cmd, g, step).ok());
  kernels::MlaAttentionArgs m;
  m.q_latent = view(b, 16, 16);
  m.q = view(b, 8, 8);
  m.heads = 2;
  m.kv_lora_rank = 8;
  m.rope_dim = 4;
  m.q_head_stride = 4;
  m.q_rope_offset = 0;
  m.scale = 1;
  m.cache = {b.address(), 12, 5000};  // needs splits
  m.out = view(b, 16, 16);
  CHECK_FALSE(test::attention_kernels().record_mla_attention(*cmd, m, step).ok());  // no scratch
  REQUIRE(cmd->end().ok());
}


// The paged cache: rows of three sequences at their own positions in one dispatch, each
// sequence's keys scattered over pool blocks through the step's block table. Pool rows that no
// sequence owns hold huge values, so a wrong table lookup fails the comparison.
namespace paged {

constexpr uint32_t kBlock = 4, kPoolBlocks = 16, kMaxBlocks = 3, kMaxRows = 8;
struct Seq { std::vector<uint32_t> blocks; uint32_t length; };
const std::vector<Seq> kSeqs = {{{7, 2, 12}, 11}, {{0, 9}, 6}, {{5}, 1}};
const std::vector<kernels::StepRow> kRows = {{8, 0}, {9, 0}, {10, 0}, {5, 1}, {0, 2}};

uint32_t pool_row(const Seq& s, uint32_t pos) { return s.blocks[pos / kBlock] * kBlock + pos % kBlock; }

CacheData make_pool(uint32_t width, uint32_t seed) {
  CacheData c;
  c.bits.assign(size_t{kPoolBlocks} * kBlock * width, f32_to_f16(30000.0f));
  const auto r = test::random_f16(c.bits.size(), seed);
  for (const Seq& s : kSeqs)
    for (uint32_t p = 0; p < s.length; ++p)
      for (uint32_t i = 0; i < width; ++i) c.bits[size_t{pool_row(s, p)} * width + i] = r[size_t{pool_row(s, p)} * width + i];
  c.values.resize(c.bits.size());
  for (size_t i = 0; i < c.bits.size(); ++i) c.values[i] = f16_to_f32(c.bits[i]);
  return c;
}

// One sequence's keys in position order (what the contiguous reference reads).
CacheData logical(const CacheData& pool, uint32_t width, const Seq& s) {
  CacheData c;
  for (uint32_t p = 0; p < s.length; ++p)
    for (uint32_t i = 0; i < width; ++i) {
      c.bits.push_back(pool.bits[size_t{pool_row(s, p)} * width + i]);
      c.values.push_back(pool.values[size_t{pool_row(s, p)} * width + i]);
    }
  return c;
}

kernels::StepView step(BufferPool& bp) {
  std::vector<uint32_t> table(kSeqs.size() * kMaxBlocks, 0);
  for (size_t s = 0; s < kSeqs.size(); ++s) std::copy(kSeqs[s].blocks.begin(), kSeqs[s].blocks.end(), table.begin() + s * kMaxBlocks);
  return {bp.upload(kernels::encode_step(kRows, {}, table, kMaxBlocks, kMaxRows, 1), "step").address(), kMaxRows};
}

kernels::CacheView cache_view(const vk::Buffer& b, uint32_t width) {
  return {b.address(), width, kMaxBlocks * kBlock, kBlock, kPoolBlocks * kBlock};
}

}  // namespace paged

TEST_CASE("gqa and mla attention over a paged cache: rows of different sequences and positions") {
  using namespace paged;
  const uint32_t max_context = kMaxBlocks * kBlock;
  for (uint32_t split : {0u, 4u}) {
    CAPTURE(split);
    {  // GQA: 4 heads over 2 kv heads of 8 values.
      BufferPool bp;
      const uint32_t heads = 4, kvh = 2, d = 8, width = 2 * kvh * d, cols = heads * d;
      const CacheData pool = make_pool(width, 91);
      const auto q = test::random_floats(size_t{kMaxRows} * cols, 92, -2, 2);
      std::vector<float> want(size_t{kMaxRows} * cols, 9.0f);
      const auto& bq = bp.upload(q, "q");
      const auto& bc = bp.upload(pool.bits, "pool");
      const auto& bo = bp.upload(want, "out");
      const uint64_t sb = split ? kernels::AttentionKernels::attention_scratch_bytes(kMaxRows, heads, d, max_context, split)
                                : kernels::AttentionKernels::gqa_scratch_bytes(kMaxRows, heads, d, max_context);
      const auto& bs = bp.zeros(sb, "scratch");
      kernels::GqaAttentionArgs a;
      a.q = view(bq, cols, cols);
      a.heads = heads;
      a.kv_heads = kvh;
      a.head_dim = d;
      a.scale = 0.35f;
      a.cache = cache_view(bc, width);
      a.out = view(bo, cols, cols);
      a.scratch = bs.address();
      a.split_len = split;
      const auto st = step(bp);
      test::run_ok([&](vk::CommandBuffer& cmd) { return test::attention_kernels().record_gqa_attention(cmd, a, st); });
      for (size_t t = 0; t < kRows.size(); ++t) {
        const CacheData seq = logical(pool, width, kSeqs[kRows[t].seq]);
        for (uint32_t h = 0; h < heads; ++h) {
          const uint32_t g = h / (heads / kvh);
          reference_head(seq, width, kRows[t].pos, &q[t * cols + h * d], g * d, d, nullptr, 0, 0, kvh * d + g * d, d,
                         static_cast<double>(a.scale), &want[t * cols + h * d]);
        }
      }
      test::check_close(test::download_as<float>(bo, want.size()), want, kTolAttention);
    }
    for (const uint32_t dr : {4u, 8u}) {  // MLA: 2 heads, latent 16, rope 4 (device addresses) or 8 (texels on CPU)
      CAPTURE(dr);
      BufferPool bp;
      const uint32_t heads = 2, c = 16, qro = 4, qhs = qro + dr, width = c + dr;
      const CacheData pool = make_pool(width, 93);
      const auto ql = test::random_floats(size_t{kMaxRows} * heads * c, 94);
      const auto q = test::random_floats(size_t{kMaxRows} * heads * qhs, 95);
      std::vector<float> want(size_t{kMaxRows} * heads * c, 9.0f);
      const auto& bql = bp.upload(ql, "q_latent");
      const auto& bq = bp.upload(q, "q");
      const auto& bc = bp.upload(pool.bits, "pool");
      const auto& bo = bp.upload(want, "out");
      const uint64_t sb = split ? kernels::AttentionKernels::attention_scratch_bytes(kMaxRows, heads, c, max_context, split)
                                : kernels::AttentionKernels::mla_scratch_bytes(kMaxRows, heads, c, max_context);
      const auto& bs = bp.zeros(sb, "scratch");
      kernels::MlaAttentionArgs a;
      a.q_latent = view(bql, heads * c, heads * c);
      a.q = view(bq, heads * qhs, heads * qhs);
      a.heads = heads;
      a.kv_lora_rank = c;
      a.rope_dim = dr;
      a.q_head_stride = qhs;
      a.q_rope_offset = qro;
      a.scale = 0.2f;
      a.cache = cache_view(bc, width);
      a.out = view(bo, heads * c, heads * c);
      a.scratch = bs.address();
      a.split_len = split;
      const auto st = step(bp);
      test::run_ok([&](vk::CommandBuffer& cmd) { return test::attention_kernels().record_mla_attention(cmd, a, st); });
      for (size_t t = 0; t < kRows.size(); ++t) {
        const CacheData seq = logical(pool, width, kSeqs[kRows[t].seq]);
        for (uint32_t h = 0; h < heads; ++h)
          reference_head(seq, width, kRows[t].pos, &ql[(t * heads + h) * c], 0, c, &q[t * heads * qhs + h * qhs + qro], c, dr, 0,
                         c, static_cast<double>(a.scale), &want[(t * heads + h) * c]);
      }
      test::check_close(test::download_as<float>(bo, want.size()), want, kTolAttention);
    }
  }
  CHECK(test::validation_errors() == 0);
}

// Whether the device runs attention_split_tex by default (CPU drivers with push descriptors).
bool takes_texels() {
  const vk::DeviceCaps& caps = test::context().caps();
  return caps.type == VK_PHYSICAL_DEVICE_TYPE_CPU && caps.push_descriptor;
}

// The texel-cache kernel (attention_split_tex) and the device-address one against the same
// reference: R1's latent and rope widths over prefill rows and a split decode, a paged cache
// (above, with rope 8), and the choice itself: on a CPU driver with push descriptors the texel
// kernel runs for these shapes, forced off it does not, and a shape with offsets that are not
// multiples of 8 halves never takes it.
TEST_CASE("attention reads the cache as texels on CPU drivers; both paths match the reference") {
  kernels::AttentionKernels& ak = test::attention_kernels();
  const bool texel_device = takes_texels();
  for (const std::optional<bool> forced : {std::optional<bool>{}, std::optional<bool>{false}}) {
    ak.set_cache_texels_override(forced);
    for (MlaCase m : {MlaCase{16, 512, 64, 192, 128, 24, 21, 37, 64}, MlaCase{4, 512, 64, 192, 128, 1, 1, 2999, 3000},
                      MlaCase{8, 64, 16, 48, 32, 9, 9, 0, 16}}) {
      // Query strides padded by 3 and 1 values: the cache as texels, the queries through shared
      // memory; whole texels: the queries as texels too.
      for (const bool aligned_q : {false, true}) {
        m.aligned_q = aligned_q;
        CAPTURE(forced.has_value());
        CAPTURE(m.heads);
        CAPTURE(m.pos0);
        CAPTURE(aligned_q);
        const uint64_t before = ak.cache_texel_dispatches(), before_q = ak.query_texel_dispatches();
        const auto [got, want] = run_mla(m);
        test::check_close(got, want, kTolAttention);
        const bool texels = texel_device && !forced;
        CHECK(ak.cache_texel_dispatches() - before == (texels ? 1u : 0u));
        CHECK(ak.query_texel_dispatches() - before_q == (texels && aligned_q ? 1u : 0u));
      }
    }
  }
  // Latent 12 (a multiple of 4, not of 8): the device-address kernel even when forced.
  ak.set_cache_texels_override(true);
  const uint64_t before = ak.cache_texel_dispatches();
  const auto [got, want] = run_mla({2, 12, 4, 8, 4, 3, 3, 0, 8});
  test::check_close(got, want, kTolAttention);
  CHECK(ak.cache_texel_dispatches() == before);
  ak.set_cache_texels_override(std::nullopt);
  CHECK(test::validation_errors() == 0);
}

// The texel kernel's index math over the multiple-of-8 shapes the host lets through: head dims
// 8..128 whose value groups do not fill the workgroup, 1..8 kv heads, rope 0..64, prefill rows
// past n_tokens, decode over several splits (some empty) and forced short splits. Each shape runs
// on the device's choice (texels on lavapipe) and forced onto device addresses; both must match
// the reference, and the texel kernel must have run where the device takes it.
TEST_CASE("texel attention: gqa and mla shapes with multiple-of-8 offsets, both paths") {
  kernels::AttentionKernels& ak = test::attention_kernels();
  const bool texel_device = takes_texels();
  for (const std::optional<bool> forced : {std::optional<bool>{}, std::optional<bool>{false}}) {
    CAPTURE(forced.has_value());
    ak.set_cache_texels_override(forced);
    const uint64_t expect = texel_device && !forced ? 1 : 0;
    for (const GqaCase& g : {GqaCase{8, 8, 8, 4, 3, 5, 16},            // head_dim 8, one head per kv head
                             GqaCase{6, 2, 24, 1, 1, 1200, 2100},      // decode, 3 values groups of 4
                             GqaCase{5, 1, 40, 6, 4, 30, 80, 16},      // one kv head, forced 16-key splits
                             GqaCase{8, 4, 128, 3, 3, 200, 300},       // prefill rows
                             GqaCase{12, 3, 64, 1, 1, 40, 3000, 32}})  // decode, mostly empty splits
    {
      const uint64_t before = ak.cache_texel_dispatches();
      check_gqa(g);
      CHECK(ak.cache_texel_dispatches() - before == expect);
    }
    for (const MlaCase& m : {MlaCase{3, 8, 8, 12, 4, 3, 2, 0, 8},          // latent 8, rope 8
                             MlaCase{4, 24, 16, 40, 24, 5, 5, 17, 40},     // latent 24, rope 16
                             MlaCase{2, 40, 64, 104, 40, 1, 1, 1500, 2100},  // latent 40, rope 64, decode splits
                             MlaCase{8, 128, 0, 8, 0, 4, 4, 60, 70, 16}})  // no rope, forced splits
    {
      CAPTURE(m.c);
      CAPTURE(m.dr);
      const uint64_t before = ak.cache_texel_dispatches();
      const auto [got, want] = run_mla(m);
      test::check_close(got, want, kTolAttention);
      CHECK(ak.cache_texel_dispatches() - before == expect);
    }
  }
  ak.set_cache_texels_override(std::nullopt);
  CHECK(test::validation_errors() == 0);
}

// Where the cache sits in its buffer: the texel view starts at the buffer, so a cache 16 bytes
// (8 halves) or 48 bytes in must read from its own start, and one 8 bytes in (not on a texel)
// must take the device-address kernel. And what it holds: words whose upper half is +-0 are f32
// denormals; a texel fetch that flushed them would zero the lower half with them.
TEST_CASE("texel attention: a cache inside a larger buffer, and words that are f32 denormals") {
  kernels::AttentionKernels& ak = test::attention_kernels();
  const bool texel_device = takes_texels();
  for (const CacheLayout& l : {CacheLayout{8, false}, CacheLayout{24, false}, CacheLayout{4, false}, CacheLayout{0, true},
                               CacheLayout{8, true}}) {
    CAPTURE(l.lead);
    CAPTURE(l.zero_odd);
    const uint64_t expect = texel_device && l.lead % 8 == 0 ? 1 : 0;
    uint64_t before = ak.cache_texel_dispatches();
    check_gqa({8, 2, 32, 3, 3, 40, 64, 0, l});
    CHECK(ak.cache_texel_dispatches() - before == expect);
    before = ak.cache_texel_dispatches();
    const auto [got, want] = run_mla({4, 64, 16, 48, 32, 2, 2, 70, 80, 0, l});
    test::check_close(got, want, kTolAttention);
    CHECK(ak.cache_texel_dispatches() - before == expect);
  }
  CHECK(test::validation_errors() == 0);
}

// The texel view spans at most maxTexelBufferElements texels of the cache's buffer (2^27 on
// lavapipe): shrunk here to 64 texels (512 halves) for the buffers created meanwhile, a pool that
// fills the view exactly (every row live, so the last key read is its last texel) takes the
// texel kernel, and one that ends a row past it, or starts 8 halves in and ends past it, the
// device-address kernel, with the same results.
TEST_CASE("texel attention: a pool past maxTexelBufferElements falls back to device addresses") {
  vk::Context& ctx = test::context();
  if (!ctx.caps().push_descriptor || ctx.caps().max_texel_buffer_elements == 0) return;
  kernels::AttentionKernels& ak = test::attention_kernels();
  struct Restore {  // the device's limit again, also when a REQUIRE ends the case early
    vk::Context& ctx;
    kernels::AttentionKernels& ak;
    ~Restore() {
      ctx.allocator().directory().enable_texel_views(ctx.device().handle(), ctx.caps().max_texel_buffer_elements);
      ak.set_cache_texels_override(std::nullopt);
    }
  } restore{ctx, ak};
  ctx.allocator().directory().enable_texel_views(ctx.device().handle(), 64);
  ak.set_cache_texels_override(true);
  // GQA, 1 kv head of 8: rows of 16 halves, 32 rows fill the view.
  struct Case { uint32_t lead, rows; uint64_t texels; };
  for (const Case& c : {Case{0, 32, 1}, Case{0, 33, 0}, Case{8, 31, 1}, Case{8, 32, 0}}) {
    CAPTURE(c.lead);
    CAPTURE(c.rows);
    const uint64_t before = ak.cache_texel_dispatches();
    check_gqa({2, 1, 8, 2, 2, c.rows - 2, c.rows, 0, {c.lead, false}});
    CHECK(ak.cache_texel_dispatches() - before == c.texels);
  }
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("gqa kv store writes each row to its sequence's block") {
  using namespace paged;
  BufferPool bp;
  const uint32_t width = 24;
  const auto kv = test::random_floats(size_t{kMaxRows} * width, 96, -4, 4);
  const auto& bkv = bp.upload(kv, "kv");
  const auto& bc = bp.zeros(size_t{kPoolBlocks} * kBlock * width * 2, "pool");
  const auto st = step(bp);
  test::run_ok([&](vk::CommandBuffer& cmd) {
    return test::attention_kernels().record_gqa_kv_store(cmd, view(bkv, width, width), cache_view(bc, width), st);
  });
  const auto got = test::download_as<uint16_t>(bc, size_t{kPoolBlocks} * kBlock * width);
  std::vector<uint16_t> want(got.size(), 0);
  for (size_t t = 0; t < kRows.size(); ++t)
    for (uint32_t i = 0; i < width; ++i)
      want[size_t{pool_row(kSeqs[kRows[t].seq], kRows[t].pos)} * width + i] = f32_to_f16(kv[t * width + i]);
  size_t mismatches = 0;
  for (size_t i = 0; i < got.size(); ++i) mismatches += std::abs(static_cast<int>(got[i]) - static_cast<int>(want[i])) > 1;
  CHECK(mismatches == 0);
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("the sampler picks one token per sample, each from its own row and parameters") {
  BufferPool bp;
  const uint32_t V = 5000, rows = 4;
  auto logits = test::random_floats(size_t{rows} * V, 97, -3, 3);
  const uint32_t peak[rows] = {17, 4999, 2500, 0};
  for (uint32_t r = 0; r < rows; ++r) logits[size_t{r} * V + peak[r]] = 10.0f;
  // Greedy from rows 2, 0 and 3; a temperature draw with top_k 1 from row 1 (must be its peak).
  const std::vector<kernels::StepSample> samples = {{2, 0, 0.0f, 1.0f, 0, 0}, {0, 5, 0.0f, 1.0f, 0, 0},
                                                    {1, 7, 0.9f, 1.0f, 1, 3}, {3, 1, 0.0f, 1.0f, 0, 0}};
  std::vector<kernels::StepRow> step_rows(rows);
  const uint32_t table[1] = {0};
  const auto& bs = bp.upload(kernels::encode_step(step_rows, samples, table, 1, rows, rows), "step");
  const auto& bl = bp.upload(logits, "logits");
  const auto& bout = bp.upload(std::vector<uint32_t>(rows, 0xdeadbeefu), "tokens");
  const auto& scratch = bp.zeros(kernels::AttentionKernels::sample_scratch_bytes(V, rows), "scratch");
  auto& k = test::attention_kernels();
  k.set_sample_scratch(scratch.address());
  test::run_ok([&](vk::CommandBuffer& cmd) {
    return k.record_sample(cmd, view(bl, V, V), bout.address(), 0, {bs.address(), rows}, rows);
  });
  CHECK(test::download_as<uint32_t>(bout, rows) == std::vector<uint32_t>{2500, 17, 4999, 0});
  CHECK(test::validation_errors() == 0);
}

}  // namespace
}  // namespace r1vk
