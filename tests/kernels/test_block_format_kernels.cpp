// The GGUF block formats kept verbatim in plans (q8_0, q4_k, q6_k; docs/gguf.md): linear (GEMV
// and GEMM, every shader shape, heads), embed and the routed-expert kernels against a CPU matmul
// of the dequantised weights (unpack_weight, i.e. ggml's reference dequantisation). Validation
// layer on.
//
// Tolerance: both sides compute with the same decoded values; the kernels factor each chunk's
// scale (q8_0 d, q4_k d*sc and dmin*m, q6_k d) out of a 32-weight sum and the CPU sums in double,
// so only the f32 summation order differs: the f16 GEMV budget (~2e-5 * sqrt(cols) absolute,
// 1e-9 nmse), and 1e-9 nmse / 1e-4 absolute for the MoE path, which also runs silu's exp.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <optional>
#include <vector>

#include "harness/kernel_harness.h"
#include "kernels/linear_kernels.h"
#include "kernels/pipeline_set.h"
#include "plan/weight_format.h"

namespace r1vk {
namespace {

using kernels::ActView;
using kernels::LinearKernels;
using kernels::LinearShape;
using kernels::StepView;
using kernels::WeightView;

LinearKernels& linear() {
  static kernels::PipelineSet pipelines{test::context()};
  static LinearKernels lk{pipelines};
  return lk;
}

template <typename T>
vk::Buffer upload(std::vector<T> v, const char* name) {
  if (v.empty()) v.resize(1);
  while ((v.size() * sizeof(T)) % 16 != 0) v.push_back(T{});
  auto b = test::upload_new(v, name);
  REQUIRE_MESSAGE(b.ok(), (b.ok() ? "" : b.error().message()));
  return std::move(b).value();
}

std::vector<float> download(const vk::Buffer& b, size_t n) {
  auto v = test::download_floats(b, n);
  REQUIRE(v.ok());
  return *v;
}

void run_ok(const std::function<Status(vk::CommandBuffer&)>& record) {
  const Status st = test::run(record);
  REQUIRE_MESSAGE(st.ok(), (st.ok() ? "" : st.error().message()));
}

vk::Buffer step_buffer(uint32_t n_tokens) {
  kernels::StepParams sp;
  sp.n_tokens = n_tokens;
  return upload(kernels::encode_step(sp), "step");
}

struct Block {
  PackedWeight p;
  std::vector<float> w;  // dequantised: what the kernels must compute with
  vk::Buffer data;
  WeightView view() const {
    return WeightView{data.address(), 0, p.format, static_cast<uint32_t>(p.rows), static_cast<uint32_t>(p.cols),
                      static_cast<uint32_t>(p.group)};
  }
};

// Random weights with an offset per row, so q4_k's mins and q6_k's signed scales are exercised.
Block make_block_weight(WeightFormat f, uint32_t rows, uint32_t cols, uint32_t seed) {
  auto src = test::random_floats(size_t{rows} * cols, seed);
  for (uint32_t r = 0; r < rows; ++r)
    for (uint32_t c = 0; c < cols; ++c) src[size_t{r} * cols + c] += 0.25f * static_cast<float>(r % 5) - 0.5f;
  auto p = pack_weight(src, rows, cols, f);
  REQUIRE_MESSAGE(p.ok(), (p.ok() ? "" : p.error().message()));
  Block b{std::move(p).value(), {}, {}};
  b.w = unpack_weight(b.p);
  b.data = upload(b.p.data, "W");
  return b;
}

void check_close(const std::vector<float>& got, const std::vector<float>& want, const test::Tolerance& tol) {
  const test::Comparison c = test::compare(got, want);
  INFO(c.describe(tol));
  CHECK(c.within(tol));
}

const WeightFormat kBlockFormats[] = {WeightFormat::kQ8_0, WeightFormat::kQ4K, WeightFormat::kQ6K};
const std::optional<LinearShape> kShapes[] = {std::nullopt, LinearShape{"lanes", 8, 3, 3}, LinearShape{"sg", 64, 3, 2},
                                              LinearShape{"shared", 128, 4, 4}};

TEST_CASE("block formats: linear GEMV and GEMM equal the dequantised matmul, every shader shape") {
  struct Case {
    uint32_t rows, cols, max_tokens, n_tokens;
  };
  for (WeightFormat f : kBlockFormats) {
    const uint32_t block = static_cast<uint32_t>(ggml_block_values(f));
    for (const Case& c : {Case{1, block, 1, 1}, Case{37, 2 * block, 1, 1}, Case{70, 3 * block, 5, 4}, Case{130, 4 * block, 9, 9}}) {
      for (const auto& shape : kShapes) {
        CAPTURE(std::string(weight_format_name(f)));
        CAPTURE(c.rows);
        CAPTURE(c.cols);
        CAPTURE(c.max_tokens);
        CAPTURE((shape ? shape->shape : std::string("default")));
        const Block w = make_block_weight(f, c.rows, c.cols, c.rows + c.cols);
        const auto x = test::random_floats(size_t{c.max_tokens} * c.cols, 3 + c.cols);
        const auto y0 = test::random_floats(size_t{c.max_tokens} * c.rows, 4 + c.rows);
        const auto bias = test::random_floats(c.rows, 5);
        const vk::Buffer bx = upload(x, "x"), by = upload(y0, "y"), bb = upload(bias, "bias"), step = step_buffer(c.n_tokens);
        std::vector<float> want = y0;
        for (uint32_t t = 0; t < c.n_tokens; ++t)
          for (uint32_t r = 0; r < c.rows; ++r) {
            double s = bias[r];
            for (uint32_t k = 0; k < c.cols; ++k) s += double(w.w[size_t{r} * c.cols + k]) * x[size_t{t} * c.cols + k];
            want[size_t{t} * c.rows + r] = static_cast<float>(s);
          }
        linear().set_shape_override(shape);
        run_ok([&](vk::CommandBuffer& cmd) {
          return linear().record_linear(cmd, w.view(), bb.address(), ActView{bx.address(), c.cols, c.cols},
                                        ActView{by.address(), c.rows, c.rows}, false, StepView{step.address(), c.max_tokens});
        });
        linear().set_shape_override(std::nullopt);
        check_close(download(by, y0.size()), want, test::gemv_f16_tolerance(c.cols));
      }
    }
  }
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("block formats: per-head linear and embed rows") {
  for (WeightFormat f : kBlockFormats) {
    CAPTURE(std::string(weight_format_name(f)));
    const uint32_t block = static_cast<uint32_t>(ggml_block_values(f));
    // linear_heads: 3 heads of 20 rows, each reading `block` columns at stride block + 8, offset 4.
    const uint32_t heads = 3, rph = 20, rows = heads * rph, stride = block + 8, in_cols = heads * stride + 4;
    const Block w = make_block_weight(f, rows, block, 11);
    const auto x = test::random_floats(size_t{2} * in_cols, 12);
    const vk::Buffer bx = upload(x, "x"), by = upload(std::vector<float>(2 * rows), "y"), step = step_buffer(2);
    std::vector<float> want(2 * rows);
    for (uint32_t t = 0; t < 2; ++t)
      for (uint32_t r = 0; r < rows; ++r) {
        double s = 0;
        for (uint32_t k = 0; k < block; ++k) s += double(w.w[size_t{r} * block + k]) * x[size_t{t} * in_cols + (r / rph) * stride + 4 + k];
        want[size_t{t} * rows + r] = static_cast<float>(s);
      }
    run_ok([&](vk::CommandBuffer& cmd) {
      return linear().record_linear_heads(cmd, w.view(), heads, ActView{bx.address(), in_cols, in_cols}, stride, 4,
                                          ActView{by.address(), rows, rows}, StepView{step.address(), 2});
    });
    check_close(download(by, want.size()), want, test::gemv_f16_tolerance(block));

    // embed: rows of the table exactly as dequantised.
    const uint32_t vocab = 9, dim = 2 * block;
    const Block table = make_block_weight(f, vocab, dim, 13);
    const std::vector<int32_t> ids = {3, 8, 0};
    const vk::Buffer bids = upload(ids, "ids"), be = upload(std::vector<float>(3 * dim), "e"), estep = step_buffer(3);
    std::vector<float> rows_want;
    for (int32_t id : ids) rows_want.insert(rows_want.end(), table.w.begin() + id * dim, table.w.begin() + (id + 1) * dim);
    run_ok([&](vk::CommandBuffer& cmd) {
      return linear().record_embed(cmd, table.view(), ActView{bids.address(), 1, 1}, ActView{be.address(), dim, dim}, false,
                                   StepView{estep.address(), 3});
    });
    check_close(download(be, rows_want.size()), rows_want, test::kTolF32Exact);
  }
  CHECK(test::validation_errors() == 0);
}

float silu(float v) { return v / (1.0f + std::exp(-v)); }

TEST_CASE("block formats: routed experts, gate|up and down in different formats (a Q4_K_M layer)") {
  struct Pair {
    WeightFormat gu, down;
  };
  const uint32_t experts = 4, top_k = 2, width = 256, hidden = 256;
  for (const Pair& fp : {Pair{WeightFormat::kQ4K, WeightFormat::kQ6K}, Pair{WeightFormat::kQ8_0, WeightFormat::kQ8_0},
                         Pair{WeightFormat::kQ6K, WeightFormat::kQ4K}}) {
    for (uint32_t max_tokens : {1u, 3u}) {  // 3: the grouped prefill path
      CAPTURE(std::string(weight_format_name(fp.gu)));
      CAPTURE(std::string(weight_format_name(fp.down)));
      CAPTURE(max_tokens);
      std::vector<Block> gate_up, down;
      std::vector<uint64_t> table;
      for (uint32_t e = 0; e < experts; ++e) {
        gate_up.push_back(make_block_weight(fp.gu, 2 * width, hidden, 100 + e));
        down.push_back(make_block_weight(fp.down, hidden, width, 200 + e));
        table.insert(table.end(), {gate_up.back().data.address(), 0, down.back().data.address(), 0});
      }
      const auto x = test::random_floats(size_t{max_tokens} * hidden, 31);
      const std::vector<int32_t> ids = {2, 1, 3, 2, 0, 2};
      const std::vector<float> rw = {0.7f, 0.3f, 1.2f, -0.4f, 0.5f, 0.5f};
      const auto y0 = test::random_floats(size_t{max_tokens} * hidden, 32);
      const vk::Buffer bx = upload(x, "x"), bt = upload(table, "experts"), bi = upload(ids, "ids"), bw = upload(rw, "route_w"),
                       by = upload(y0, "y"), step = step_buffer(max_tokens);
      const uint64_t scratch_bytes = max_tokens > 1 ? LinearKernels::moe_grouped_scratch_bytes(max_tokens, top_k, width, hidden, experts)
                                                    : LinearKernels::moe_scratch_bytes(max_tokens, top_k, width);
      auto scratch = test::zeros(scratch_bytes, "scratch");
      REQUIRE(scratch.ok());
      std::vector<float> want = y0;
      for (uint32_t t = 0; t < max_tokens; ++t)
        for (uint32_t k = 0; k < top_k; ++k) {
          const uint32_t e = static_cast<uint32_t>(ids[t * top_k + k]);
          std::vector<float> act(width);
          for (uint32_t i = 0; i < width; ++i) {
            double g = 0, u = 0;
            for (uint32_t c = 0; c < hidden; ++c) {
              g += double(gate_up[e].w[size_t{i} * hidden + c]) * x[size_t{t} * hidden + c];
              u += double(gate_up[e].w[size_t{width + i} * hidden + c]) * x[size_t{t} * hidden + c];
            }
            act[i] = silu(static_cast<float>(g)) * static_cast<float>(u);
          }
          for (uint32_t r = 0; r < hidden; ++r) {
            double s = 0;
            for (uint32_t i = 0; i < width; ++i) s += double(down[e].w[size_t{r} * width + i]) * act[i];
            want[size_t{t} * hidden + r] += rw[t * top_k + k] * static_cast<float>(s);
          }
        }
      kernels::MoeExpertsArgs a;
      a.expert_table = bt.address();
      a.format = fp.gu;
      a.group = static_cast<uint32_t>(ggml_block_values(fp.gu));
      a.down_format = fp.down;
      a.down_group = static_cast<uint32_t>(ggml_block_values(fp.down));
      a.experts = experts;
      a.top_k = top_k;
      a.width = width;
      a.hidden = hidden;
      a.in = {bx.address(), hidden, hidden};
      a.ids = {bi.address(), top_k, top_k};
      a.weights = {bw.address(), top_k, top_k};
      a.out = {by.address(), hidden, hidden};
      a.scratch = scratch->address();
      a.scratch_size = scratch_bytes;
      run_ok([&](vk::CommandBuffer& cmd) { return linear().record_moe_experts(cmd, a, StepView{step.address(), max_tokens}); });
      check_close(download(by, y0.size()), want, {1e-9, 1e-3});
    }
  }
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("block formats: a misaligned q4_k weight is refused") {
  const Block w = make_block_weight(WeightFormat::kQ4K, 2, 256, 1);
  const vk::Buffer bx = upload(std::vector<float>(256), "x"), by = upload(std::vector<float>(2), "y"), step = step_buffer(1);
  WeightView v = w.view();
  v.data += 4;
  const Status st = test::run([&](vk::CommandBuffer& cmd) {
    return linear().record_linear(cmd, v, 0, ActView{bx.address(), 256, 256}, ActView{by.address(), 2, 2}, false,
                                  StepView{step.address(), 1});
  });
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().message().find("16-byte aligned") != std::string::npos);
}

}  // namespace
}  // namespace r1vk
