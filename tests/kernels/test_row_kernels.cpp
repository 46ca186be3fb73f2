// rmsnorm, swiglu, rope and the KV-cache stores over ActView windows against the CPU reference
// (tests/reference: rmsnorm, swiglu, apply_rope, program_interpreter's kv stores). Rows at or past
// n_tokens must stay untouched. Validation layer on; any validation error fails.
#include <cmath>
#include <vector>

#include "attention_test_util.h"
#include "base/numeric_formats.h"
#include "reference/reference_ops.h"

namespace r1vk {
namespace {

using test::BufferPool;
using test::view;

// f32 with exp / inversesqrt on the device: a few ULP.
constexpr test::Tolerance kTol = test::kTolF32Transcendental;

TEST_CASE("rmsnorm over row windows matches the reference and skips rows past n_tokens") {
  struct Shape { uint32_t max_tokens, n_tokens, cols, in_stride, in_off, out_stride; };
  for (Shape s : {Shape{1, 1, 7, 7, 0, 7}, Shape{4, 3, 512, 600, 40, 513}, Shape{2, 2, 7168, 7168, 0, 7200},
                  Shape{5, 5, 1, 3, 2, 1}}) {
    CAPTURE(s.cols);
    BufferPool pool;
    const auto x = test::random_floats(size_t{s.max_tokens} * s.in_stride, 3 + s.cols, -3, 3);
    const auto w = test::random_floats(s.cols, 4 + s.cols, 0.5f, 1.5f);
    std::vector<float> y0(size_t{s.max_tokens} * s.out_stride, 7.0f);
    const auto& bx = pool.upload(x, "x");
    const auto& bw = pool.upload(w, "w");
    const auto& by = pool.upload(y0, "y");
    const auto step = pool.step({s.n_tokens, 0}, s.max_tokens);
    test::run_ok([&](vk::CommandBuffer& cmd) {
      return test::attention_kernels().record_rmsnorm(cmd, view(bx, s.cols, s.in_stride, s.in_off), bw.address(), 1e-6f,
                                                      view(by, s.cols, s.out_stride), step);
    });
    std::vector<float> want = y0;
    for (uint32_t t = 0; t < s.n_tokens; ++t)
      ref::rmsnorm(std::span(x).subspan(size_t{t} * s.in_stride + s.in_off, s.cols), w, 1e-6f,
                   std::span(want).subspan(size_t{t} * s.out_stride, s.cols));
    test::check_close(test::download_as<float>(by, want.size()), want, kTol);
  }
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("swiglu over row windows matches the reference") {
  for (uint32_t n : {1u, 63u, 64u, 1000u, 18432u}) {
    CAPTURE(n);
    BufferPool pool;
    const uint32_t T = 3, in_stride = 2 * n + 5, out_stride = n + 1;
    const auto x = test::random_floats(size_t{T} * in_stride, 9 + n, -8, 8);
    std::vector<float> y0(size_t{T} * out_stride, -5.0f);
    const auto& bx = pool.upload(x, "x");
    const auto& by = pool.upload(y0, "y");
    const auto step = pool.step({2, 0}, T);  // row 2 is past n_tokens
    test::run_ok([&](vk::CommandBuffer& cmd) {
      return test::attention_kernels().record_swiglu(cmd, view(bx, 2 * n, in_stride), view(by, n, out_stride), step);
    });
    std::vector<float> want = y0;
    for (uint32_t t = 0; t < 2; ++t)
      ref::swiglu(std::span(x).subspan(size_t{t} * in_stride, n), std::span(x).subspan(size_t{t} * in_stride + n, n),
                  std::span(want).subspan(size_t{t} * out_stride, n));
    test::check_close(test::download_as<float>(by, want.size()), want, kTol);
  }
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("rope rotates interleaved pairs and NeoX halves at pos0 + t") {
  RopeScaling yarn;
  yarn.type = RopeScalingType::kYarn;
  yarn.factor = 40;
  yarn.original_max_position_embeddings = 4096;
  yarn.beta_fast = 32;
  yarn.beta_slow = 1;
  yarn.mscale = 1;
  yarn.mscale_all_dim = 1;
  struct Case { bool interleaved; uint32_t heads, head_stride, offset, dim, pos0; double theta; RopeScaling scaling; };
  for (const Case& c : {Case{true, 128, 192, 128, 64, 4090, 10000, yarn}, Case{false, 28, 128, 0, 128, 0, 1e6, {}},
                        Case{true, 3, 5, 3, 2, 7, 10000, {}}, Case{false, 1, 6, 0, 6, 2, 500, {}}}) {
    CAPTURE(c.interleaved);
    CAPTURE(c.dim);
    BufferPool pool;
    const uint32_t T = 4, n_tokens = 3, cols = c.heads * c.head_stride, stride = cols + 3, max_context = c.pos0 + 8;
    const auto freqs = ref::rope_frequencies(c.scaling, c.theta, c.dim);
    const double magnitude = ref::rope_magnitude(c.scaling);
    const auto x = test::random_floats(size_t{T} * stride, 31 + c.dim, -2, 2);
    const auto& bx = pool.upload(x, "x");
    const auto& table = pool.upload(test::rope_table(freqs, max_context, magnitude), "rope");
    const auto step = pool.step({n_tokens, c.pos0}, T);
    const kernels::RopeTable rt{table.address(), c.dim / 2, max_context};
    test::run_ok([&](vk::CommandBuffer& cmd) {
      return test::attention_kernels().record_rope(cmd, view(bx, cols, stride), c.heads, c.head_stride, c.offset, c.dim,
                                                   c.interleaved, rt, step);
    });
    std::vector<float> want = x;
    for (uint32_t t = 0; t < n_tokens; ++t)
      for (uint32_t h = 0; h < c.heads; ++h)
        ref::apply_rope(std::span(want).subspan(size_t{t} * stride + h * c.head_stride + c.offset, c.dim), freqs,
                        c.pos0 + t, c.interleaved ? RopeStyle::kInterleaved : RopeStyle::kNeox, magnitude);
    test::check_close(test::download_as<float>(bx, want.size()), want, kTol);
  }
  CHECK(test::validation_errors() == 0);
}

// program_interpreter kMlaKvStore: rmsnorm of the latent, interleaved rope of k_pe, f16 row.
TEST_CASE("mla kv store writes normalised latent and roped k_pe as f16 rows") {
  struct Case { uint32_t c, dr, max_tokens, n_tokens, pos0, max_context; };
  for (Case s : {Case{512, 64, 1, 1, 4095, 4096}, Case{512, 64, 6, 5, 10, 32}, Case{7, 2, 3, 3, 0, 5}}) {
    CAPTURE(s.c);
    BufferPool pool;
    const uint32_t width = s.c + s.dr, stride = width + 2;
    const auto freqs = ref::rope_frequencies({}, 10000, s.dr);
    const auto kv = test::random_floats(size_t{s.max_tokens} * stride, 41 + s.c, -2, 2);
    const auto w = test::random_floats(s.c, 42 + s.c, 0.5f, 1.5f);
    std::vector<uint16_t> cache0(size_t{s.max_context} * width, f32_to_f16(0.25f));
    const auto& bkv = pool.upload(kv, "kv");
    const auto& bw = pool.upload(w, "w");
    const auto& bc = pool.upload(cache0, "cache");
    const auto& table = pool.upload(test::rope_table(freqs, s.max_context, 1.0), "rope");
    const auto step = pool.step({s.n_tokens, s.pos0}, s.max_tokens);
    test::run_ok([&](vk::CommandBuffer& cmd) {
      return test::attention_kernels().record_mla_kv_store(cmd, view(bkv, width, stride), bw.address(), 1e-6f, s.c, s.dr,
                                                           {table.address(), s.dr / 2, s.max_context},
                                                           {bc.address(), width, s.max_context}, step);
    });
    const auto got = test::download_as<uint16_t>(bc, cache0.size());
    std::vector<float> got_f, want_f;
    for (uint32_t t = 0; t < s.n_tokens; ++t) {
      std::vector<float> row(width);
      ref::rmsnorm(std::span(kv).subspan(size_t{t} * stride, s.c), w, 1e-6f, std::span(row).subspan(0, s.c));
      for (uint32_t i = 0; i < s.dr; ++i) row[s.c + i] = kv[size_t{t} * stride + s.c + i];
      ref::apply_rope(std::span(row).subspan(s.c, s.dr), freqs, s.pos0 + t, RopeStyle::kInterleaved, 1.0);
      for (uint32_t i = 0; i < width; ++i) {
        want_f.push_back(f16_to_f32(f32_to_f16(row[i])));
        got_f.push_back(f16_to_f32(got[size_t{s.pos0 + t} * width + i]));
      }
    }
    // One f16 rounding of values within a few ULP of each other: at most one f16 step (2^-10 relative).
    test::check_close(got_f, want_f, {1e-7, 4e-3});
    // Rows outside [pos0, pos0 + n_tokens) are untouched.
    size_t changed_outside = 0;
    for (uint32_t pos = 0; pos < s.max_context; ++pos)
      if (pos < s.pos0 || pos >= s.pos0 + s.n_tokens)
        for (uint32_t i = 0; i < width; ++i) changed_outside += got[size_t{pos} * width + i] != cache0[0];
    CHECK(changed_outside == 0);
  }
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("gqa kv store copies K and V rows to f16 at pos0 + t") {
  BufferPool pool;
  const uint32_t width = 2 * 4 * 128, T = 4, n_tokens = 3, pos0 = 9, max_context = 16, stride = width + 7;
  const auto kv = test::random_floats(size_t{T} * stride, 51, -4, 4);
  const auto& bkv = pool.upload(kv, "kv");
  const auto& bc = pool.zeros(size_t{max_context} * width * 2, "cache");
  const auto step = pool.step({n_tokens, pos0}, T);
  test::run_ok([&](vk::CommandBuffer& cmd) {
    return test::attention_kernels().record_gqa_kv_store(cmd, view(bkv, width, stride), {bc.address(), width, max_context}, step);
  });
  const auto got = test::download_as<uint16_t>(bc, size_t{max_context} * width);
  size_t mismatches = 0;
  for (uint32_t pos = 0; pos < max_context; ++pos)
    for (uint32_t i = 0; i < width; ++i) {
      const bool stored = pos >= pos0 && pos < pos0 + n_tokens;
      const uint16_t want = stored ? f32_to_f16(kv[size_t{pos - pos0} * stride + i]) : 0;
      // Conversion may round differently from the host only at exact ties: allow one f16 step.
      mismatches += std::abs(static_cast<int>(got[size_t{pos} * width + i]) - static_cast<int>(want)) > 1;
    }
  CHECK(mismatches == 0);
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("row kernels reject bad shapes with an error") {
  BufferPool pool;
  const auto& b = pool.zeros(4096, "b");
  const auto step = pool.step({1, 0}, 1);
  auto& k = test::attention_kernels();
  auto cmd = test::context().create_command_buffer();
  REQUIRE(cmd.ok());
  REQUIRE(cmd->begin().ok());
  CHECK_FALSE(k.record_swiglu(*cmd, view(b, 10, 10), view(b, 4, 4), step).ok());  // input must be 2 * out
  CHECK_FALSE(k.record_rope(*cmd, view(b, 8, 8), 2, 4, 0, 3, true, {b.address(), 1, 4}, step).ok());  // odd dim
  CHECK_FALSE(k.record_rmsnorm(*cmd, view(b, 8, 4), b.address(), 1e-6f, view(b, 8, 8), step).ok());  // stride < cols
  CHECK_FALSE(k.record_rmsnorm(*cmd, view(b, 8, 8), b.address(), 1e-6f, view(b, 8, 8), {0, 1}).ok());  // no step
  REQUIRE(cmd->end().ok());
}

}  // namespace
}  // namespace r1vk
