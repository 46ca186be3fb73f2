// The matrix kernels (linear, linear_heads, embed, moe_experts) against CPU computations on the
// unpack_weight()'d matrices, for every weight format, GEMV (max_tokens 1) and GEMM, every
// shader shape (lanes / sg / shared), awkward shapes (one row, columns not a multiple of the
// chunk or group, unaligned rows, rows that are not a multiple of the workgroup tile, very long
// rows), bias, accumulate and windowed input/output views. Validation layer on.
//
// Tolerances: the packed weights are exact on both sides (the CPU uses unpack_weight's values),
// so only the f32 summation order differs; inputs and weights are O(1), so the error budget is
// the f16 GEMV one, ~2e-5 * sqrt(cols) absolute and 1e-9 nmse, for every format. The MoE path
// also runs silu's exp (a few ULP in Vulkan): 1e-9 nmse, 1e-4 absolute.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <optional>
#include <span>
#include <vector>

#include "harness/kernel_harness.h"
#include "kernels/attention_kernels.h"
#include "kernels/linear_bound.h"
#include "kernels/linear_kernels.h"
#include "kernels/linear_variants.h"
#include "kernels/pipeline_set.h"
#include "plan/weight_format.h"
#include "reference/reference_ops.h"
#include "vulkan/kernel_variants.h"

namespace r1vk {
namespace {

using kernels::ActView;
using kernels::LinearKernels;
using kernels::LinearShape;
using kernels::StepView;
using kernels::WeightView;

struct Fixture {
  kernels::PipelineSet pipelines{test::context()};
  LinearKernels linear{pipelines};
  kernels::AttentionKernels attention{pipelines};  // the unfused rmsnorm (embed_norm's test)
};

Fixture& fixture() {
  static Fixture f;
  return f;
}

template <typename T>
vk::Buffer upload(const std::vector<T>& v, const char* name) {
  std::vector<T> padded = v;
  if (padded.empty()) padded.resize(1);
  // Pad to 16 bytes: kernels read whole 32-bit words of byte-packed data.
  while ((padded.size() * sizeof(T)) % 16 != 0) padded.push_back(T{});
  auto b = test::upload_new(padded, name);
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

vk::Buffer step_buffer(uint32_t n_tokens, uint32_t pos0) {
  kernels::StepParams sp;
  sp.n_tokens = n_tokens;
  sp.pos0 = pos0;
  return upload(kernels::encode_step(sp), "step");
}

struct Packed {
  PackedWeight p;
  std::vector<float> w;  // the values the kernels must compute with
  vk::Buffer data, scales;
  WeightView view() const {
    return WeightView{data.address(), p.scales.empty() ? 0 : scales.address(), p.format, static_cast<uint32_t>(p.rows),
                      static_cast<uint32_t>(p.cols), static_cast<uint32_t>(p.group)};
  }
};

Packed make_weight(WeightFormat f, uint32_t rows, uint32_t cols, int group, uint32_t seed) {
  const auto src = test::random_floats(size_t{rows} * cols, seed);
  auto p = pack_weight(src, rows, cols, f, group);
  REQUIRE(p.ok());
  Packed out{std::move(p).value(), {}, {}, {}};
  out.w = unpack_weight(out.p);
  out.data = upload(out.p.data, "W");
  out.scales = upload(out.p.scales, "W_scales");
  return out;
}

test::Tolerance tolerance(uint32_t cols) { return test::gemv_f16_tolerance(cols); }

void check_close(const std::vector<float>& got, const std::vector<float>& want, const test::Tolerance& tol) {
  const test::Comparison c = test::compare(got, want);
  INFO(c.describe(tol));
  CHECK(c.within(tol));
}

struct FormatCase {
  WeightFormat format;
  int group;
};
const FormatCase kFormats[] = {{WeightFormat::kF32, 0}, {WeightFormat::kF16, 0}, {WeightFormat::kQ8, 32},
                               {WeightFormat::kQ4, 32}, {WeightFormat::kQ4, 128}, {WeightFormat::kFp8, 128}};

struct LinearCase {
  uint32_t rows, cols;
  uint32_t max_tokens, n_tokens;
  bool bias, accumulate;
  uint32_t in_pad, in_shift, out_pad, out_shift;  // window: extra row stride and column offset
};

// The reference output of a linear case: for rows t < n_tokens of the window, want[t, r] =
// sum_k W[r, k] * act_t[k] (+ bias[r]) (+ its previous value), in double; act_t is the input row
// after the op's input transform (none, a SwiGLU, an RMSNorm), from `input(t)`.
template <typename Input>
void reference_linear(const Packed& w, const LinearCase& c, uint32_t out_stride, std::span<const float> bias, Input input,
                      std::vector<float>& want) {
  for (uint32_t t = 0; t < c.n_tokens; ++t) {
    const std::span<const float> act = input(t);
    for (uint32_t r = 0; r < c.rows; ++r) {
      double sum = 0;
      for (uint32_t k = 0; k < c.cols; ++k) sum += double(w.w[size_t{r} * c.cols + k]) * act[k];
      if (c.bias) sum += bias[r];
      float& o = want[c.out_shift + size_t{t} * out_stride + r];
      o = static_cast<float>(c.accumulate ? o + sum : sum);
    }
  }
}

// What a failing linear check prints: the format, the case's fields, the shape and the bound
// path (a macro: doctest's CAPTURE lasts to the end of the enclosing scope).
#define CAPTURE_LINEAR_CASE(fc, c, shape, bound)                                         \
  CAPTURE(weight_format_name((fc).format));                                              \
  CAPTURE((fc).group);                                                                   \
  CAPTURE((c).rows);                                                                     \
  CAPTURE((c).cols);                                                                     \
  CAPTURE((c).max_tokens);                                                               \
  CAPTURE((c).n_tokens);                                                                 \
  CAPTURE((c).bias);                                                                     \
  CAPTURE((c).accumulate);                                                               \
  CAPTURE((c).in_shift);                                                                 \
  CAPTURE((c).out_shift);                                                                \
  CAPTURE(((shape) ? (shape)->shape : std::string("default")));                          \
  CAPTURE(((bound) ? (*(bound) ? "bound" : "device addresses") : "device's choice"))

// Runs `record(lk, cmd)` in one submission with the shader shape and the bound path forced as
// given (nullopt: the device's choice), then gives the choice back to the device.
template <typename Record>
void run_forced(const std::optional<LinearShape>& shape, std::optional<bool> bound, Record record) {
  LinearKernels& lk = fixture().linear;
  lk.set_shape_override(shape);
  lk.set_bound_override(bound);
  run_ok([&](vk::CommandBuffer& cmd) { return record(lk, cmd); });
  lk.set_shape_override(std::nullopt);
  lk.set_bound_override(std::nullopt);
}

// Runs record_linear on one case and checks the whole output buffer: rows t < n_tokens in the
// window get W x (+ bias) (+ previous), everything else keeps its previous value.
// `bound`: force the descriptor-bound twin on or off (nullopt: the device's choice).
void check_linear(const FormatCase& fc, const LinearCase& c, const std::optional<LinearShape>& shape,
                  std::optional<bool> bound = std::nullopt) {
  CAPTURE_LINEAR_CASE(fc, c, shape, bound);
  const Packed w = make_weight(fc.format, c.rows, c.cols, fc.group, c.rows * 7 + c.cols);
  const uint32_t in_stride = c.cols + c.in_pad, out_stride = c.rows + c.out_pad;
  const auto x = test::random_floats(size_t{c.max_tokens} * in_stride + c.in_shift, 3 + c.cols);
  const auto y0 = test::random_floats(size_t{c.max_tokens} * out_stride + c.out_shift, 4 + c.rows);
  const auto bias = test::random_floats(c.rows, 5 + c.rows);
  const vk::Buffer bx = upload(x, "x"), by = upload(y0, "y"), bb = upload(bias, "bias");
  const vk::Buffer step = step_buffer(c.n_tokens, 0);

  std::vector<float> want = y0;
  reference_linear(w, c, out_stride, bias,
                   [&](uint32_t t) { return std::span<const float>(x).subspan(c.in_shift + size_t{t} * in_stride, c.cols); }, want);
  const ActView in{bx.address() + 4 * c.in_shift, in_stride, c.cols};
  const ActView out{by.address() + 4 * c.out_shift, out_stride, c.rows};
  run_forced(shape, bound, [&](LinearKernels& lk, vk::CommandBuffer& cmd) {
    return lk.record_linear(cmd, w.view(), c.bias ? bb.address() : 0, in, out, c.accumulate, StepView{step.address(), c.max_tokens});
  });
  check_close(download(by, y0.size()), want, tolerance(c.cols));
}

const std::optional<LinearShape> kShapes[] = {std::nullopt, LinearShape{"lanes", 8, 3, 3}, LinearShape{"sg", 64, 3, 2},
                                              LinearShape{"shared", 128, 4, 4}};  // the GPU default without subgroups

TEST_CASE("linear: every format, GEMV and GEMM, awkward shapes, all shader shapes") {
  const LinearCase cases[] = {
      {1, 7, 1, 1, false, false, 0, 0, 0, 0},        // one row, fewer columns than a chunk
      {37, 100, 1, 1, true, false, 3, 1, 2, 3},      // unaligned windows, tail columns, bias
      {64, 256, 1, 1, false, true, 0, 4, 0, 4},      // aligned, accumulate
      {70, 264, 5, 4, true, true, 0, 0, 1, 0},       // GEMM, last token block partly used
      {33, 129, 17, 17, false, false, 5, 2, 0, 0},   // GEMM, odd columns and windows
      {130, 1000, 9, 6, true, false, 0, 0, 0, 0},    // GEMM, rows past one workgroup tile
  };
  for (const FormatCase& fc : kFormats)
    for (const auto& shape : kShapes)
      for (const LinearCase& c : cases) check_linear(fc, c, shape);
  CHECK(test::validation_errors() == 0);
}

// record_linear_swiglu: rows t < n_tokens of the output window get W (silu(gate) * up) (+ bias)
// (+ previous) for x rows [gate | up] (2 * cols wide, in a wider window); the rest keeps its
// value. The reference applies ref::swiglu first, as the unfused program does (its exp is the
// host's: kTolF32Transcendental-sized differences on top of the GEMV's).
void check_linear_swiglu(const FormatCase& fc, const LinearCase& c, const std::optional<LinearShape>& shape,
                         std::optional<bool> bound) {
  CAPTURE_LINEAR_CASE(fc, c, shape, bound);
  const Packed w = make_weight(fc.format, c.rows, c.cols, fc.group, c.rows * 5 + c.cols);
  const uint32_t in_stride = 2 * c.cols + c.in_pad, out_stride = c.rows + c.out_pad;
  auto x = test::random_floats(size_t{c.max_tokens} * in_stride + c.in_shift, 7 + c.cols);
  for (float& v : x) v *= 4.0f;  // gates over silu's curved range, not only its linear part
  const auto y0 = test::random_floats(size_t{c.max_tokens} * out_stride + c.out_shift, 8 + c.rows);
  const auto bias = test::random_floats(c.rows, 9 + c.rows);
  const vk::Buffer bx = upload(x, "gate_up"), by = upload(y0, "y"), bb = upload(bias, "bias");
  const vk::Buffer step = step_buffer(c.n_tokens, 0);
  std::vector<float> want = y0, act(c.cols);
  reference_linear(w, c, out_stride, bias, [&](uint32_t t) {
    const auto row = std::span<const float>(x).subspan(c.in_shift + size_t{t} * in_stride, 2 * c.cols);
    ref::swiglu(row.first(c.cols), row.subspan(c.cols), act);
    return std::span<const float>(act);
  }, want);
  const ActView in{bx.address() + 4 * c.in_shift, in_stride, 2 * c.cols};
  const ActView out{by.address() + 4 * c.out_shift, out_stride, c.rows};
  run_forced(shape, bound, [&](LinearKernels& lk, vk::CommandBuffer& cmd) {
    return lk.record_linear_swiglu(cmd, w.view(), c.bias ? bb.address() : 0, in, out, c.accumulate,
                                   StepView{step.address(), c.max_tokens});
  });
  const test::Tolerance gemv = tolerance(c.cols);
  check_close(download(by, y0.size()), want, {gemv.nmse, 4 * gemv.max_abs});
}

// The SwiGLU folded into the down projection (exec/norm_fusion.h): every format and shader
// shape, GEMV and GEMM, aligned rows (vec4 loads of both halves) and odd ones (the tail loop),
// device addresses and the descriptor-bound twin.
TEST_CASE("linear: SwiGLU input [gate | up] computed as the kernel reads it") {
  const LinearCase cases[] = {
      {64, 64, 1, 1, false, true, 0, 0, 0, 0},     // the demo model's down projection: accumulate into h
      {37, 100, 1, 1, true, false, 3, 1, 2, 3},    // unaligned windows, tail columns, bias
      {70, 264, 2, 2, false, true, 0, 4, 0, 0},    // an MTP verify step's 2 rows
      {33, 129, 17, 11, true, false, 5, 2, 1, 0},  // GEMM, odd columns: the up half unaligned
  };
  for (const FormatCase& fc : kFormats)
    for (const auto& shape : kShapes)
      for (const LinearCase& c : cases) check_linear_swiglu(fc, c, shape, std::nullopt);
  for (const FormatCase& fc : kFormats)
    for (bool bound : {false, true})
      for (const LinearCase& c : cases) check_linear_swiglu(fc, c, std::nullopt, bound);
  CHECK(test::validation_errors() == 0);
}

// record_linear with an InputNorm (exec folds an RMSNorm into the linears that read it): rows
// t < n_tokens of the output window get W rmsnorm(x_t) (+ bias) (+ previous), the norm's weight
// `norm_shift` floats into its buffer (a texel view's element offset that is not a whole texel
// when not a multiple of 4). The reference normalises first, as the unfused program does.
void check_linear_norm(const FormatCase& fc, const LinearCase& c, uint32_t norm_shift,
                       const std::optional<LinearShape>& shape, std::optional<bool> bound) {
  CAPTURE_LINEAR_CASE(fc, c, shape, bound);
  CAPTURE(norm_shift);
  const Packed w = make_weight(fc.format, c.rows, c.cols, fc.group, c.rows * 3 + c.cols);
  const uint32_t in_stride = c.cols + c.in_pad, out_stride = c.rows + c.out_pad;
  const auto x = test::random_floats(size_t{c.max_tokens} * in_stride + c.in_shift, 11 + c.cols, -3, 3);
  const auto nw = test::random_floats(size_t{c.cols} + norm_shift, 12 + c.cols, 0.5f, 1.5f);
  const auto y0 = test::random_floats(size_t{c.max_tokens} * out_stride + c.out_shift, 13 + c.rows);
  const auto bias = test::random_floats(c.rows, 14 + c.rows);
  const vk::Buffer bx = upload(x, "x"), bn = upload(nw, "norm_w"), by = upload(y0, "y"), bb = upload(bias, "bias");
  const vk::Buffer step = step_buffer(c.n_tokens, 0);
  const float eps = 1e-6f;
  std::vector<float> want = y0, normed(c.cols);
  reference_linear(w, c, out_stride, bias, [&](uint32_t t) {
    ref::rmsnorm(std::span(x).subspan(c.in_shift + size_t{t} * in_stride, c.cols),
                 std::span(nw).subspan(norm_shift, c.cols), eps, normed);
    return std::span<const float>(normed);
  }, want);
  const ActView in{bx.address() + 4 * c.in_shift, in_stride, c.cols};
  const ActView out{by.address() + 4 * c.out_shift, out_stride, c.rows};
  run_forced(shape, bound, [&](LinearKernels& lk, vk::CommandBuffer& cmd) {
    return lk.record_linear(cmd, w.view(), c.bias ? bb.address() : 0, in, out, c.accumulate,
                            StepView{step.address(), c.max_tokens}, {bn.address() + 4ull * norm_shift, eps});
  });
  const test::Tolerance gemv = tolerance(c.cols);
  check_close(download(by, y0.size()), want, {gemv.nmse, 4 * gemv.max_abs});
}

// The RMSNorm folded into the linears that read it (exec/norm_fusion.h): every format and shader
// shape, GEMV and GEMM, device addresses and the descriptor-bound twin (norm weight as a texel
// view), the norm weight on a texel boundary and off it.
TEST_CASE("linear: fused RMSNorm input, the norm weight at any element offset") {
  const LinearCase cases[] = {
      {64, 64, 1, 1, false, false, 0, 0, 0, 0},    // aligned GEMV (vec4 norm weight fetches)
      {37, 100, 1, 1, true, false, 3, 1, 2, 3},    // unaligned windows, tail columns, bias
      {70, 264, 2, 2, false, true, 0, 4, 0, 0},    // an MTP verify step's 2 rows, accumulate
      {33, 129, 17, 11, true, false, 5, 2, 1, 0},  // GEMM, odd columns
  };
  for (const FormatCase& fc : kFormats)
    for (uint32_t norm_shift : {0u, 1u, 3u, 4u}) {
      for (const auto& shape : kShapes)
        for (const LinearCase& c : cases) check_linear_norm(fc, c, norm_shift, shape, std::nullopt);
      for (bool bound : {false, true})
        for (const LinearCase& c : cases) check_linear_norm(fc, c, norm_shift, std::nullopt, bound);
    }
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("linear: the descriptor-bound twin against device addresses, 1..512 rows of x, odd shapes") {
  // Needs VK_KHR_push_descriptor (lavapipe has it); without it `bound` falls back to the
  // device-address kernel and the cases still hold.
  const LinearCase cases[] = {
      {1, 7, 1, 1, false, false, 0, 0, 0, 0},         // one row, fewer columns than a chunk
      {37, 100, 1, 1, true, false, 3, 1, 2, 3},       // GEMV, unaligned windows (x binding starts before x)
      {70, 264, 2, 2, true, true, 0, 0, 1, 0},        // GEMM, 2 rows
      {33, 129, 17, 13, false, false, 5, 2, 0, 0},    // odd columns, rows of x past n_tokens untouched
      {130, 1000, 63, 63, true, false, 0, 0, 0, 0},   // rows past one workgroup tile
      {67, 72, 512, 509, false, true, 1, 3, 0, 1},    // a 512-row chunk, not a multiple of the token tile
  };
  const LinearShape lanes = kernels::choose_linear_shape(test::context().caps(), WeightFormat::kF16, 1024, 4, false);
  for (const FormatCase& fc : kFormats)
    for (const LinearCase& c : cases)
      for (bool bound : {false, true}) check_linear(fc, c, lanes.lanes() ? std::optional<LinearShape>(lanes) : std::nullopt, bound);
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("linear: the descriptor-bound twin slices weights larger than one binding") {
  // A binding limit of 128 rows of data makes these weights split into 128-row slices (whole
  // fp8 scale blocks); the slices must be recorded bound, not fall back to device addresses.
  LinearKernels& lk = fixture().linear;
  for (const FormatCase& fc : kFormats) {
    const uint32_t cols = 512;
    const uint64_t row_bytes = *packed_data_bytes(fc.format, 1, cols, fc.group);
    lk.set_bound_range_limit(128 * row_bytes);
    const uint64_t before = lk.bound_dispatches();
    check_linear(fc, {300, cols, 5, 5, true, true, 0, 0, 0, 0}, std::nullopt, true);
    check_linear(fc, {257, cols, 1, 1, true, false, 0, 0, 0, 0}, std::nullopt, true);
    if (test::context().caps().push_descriptor) CHECK(lk.bound_dispatches() - before == 3 + 3);
  }
  lk.set_bound_range_limit(std::nullopt);
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("linear: x or the norm weight past maxTexelBufferElements falls back to device addresses") {
  // The texel views of x and of a fused norm's weight span at most maxTexelBufferElements texels
  // of their buffer (2^27 on lavapipe): shrunk here to 64 texels (256 floats) for buffers created
  // meanwhile (check_* make and free their own), x or the weight past them must take the
  // device-address kernel, with the same results.
  vk::Context& ctx = test::context();
  vk::BufferDirectory& dir = ctx.allocator().directory();
  if (!ctx.caps().push_descriptor || ctx.caps().max_texel_buffer_elements == 0) return;
  LinearKernels& lk = fixture().linear;
  const FormatCase f16{WeightFormat::kF16, 0};
  struct Restore {  // the device's limit again, also when a REQUIRE ends the case early
    vk::Context& ctx;
    ~Restore() { ctx.allocator().directory().enable_texel_views(ctx.device().handle(), ctx.caps().max_texel_buffer_elements); }
  } restore{ctx};
  dir.enable_texel_views(ctx.device().handle(), 64);
  const uint64_t before = lk.bound_dispatches();
  check_linear(f16, {37, 100, 1, 1, true, false, 0, 8, 0, 0}, std::nullopt, true);  // inside: bound
  CHECK(lk.bound_dispatches() - before == 1);
  check_linear(f16, {37, 100, 1, 1, true, false, 0, 300, 0, 0}, std::nullopt, true);  // x starts past the view
  check_linear(f16, {37, 100, 1, 1, true, false, 0, 200, 0, 0}, std::nullopt, true);  // x ends past it
  check_linear(f16, {33, 60, 5, 5, false, true, 0, 4, 0, 0}, std::nullopt, true);     // its last rows end past it
  check_linear_norm(f16, {37, 100, 1, 1, true, false, 0, 8, 0, 0}, 300, std::nullopt, true);  // the norm weight past it
  CHECK(lk.bound_dispatches() - before == 1);
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("linear bound plan: slices, aligned offsets, refusals") {
  const VkBuffer wbuf = reinterpret_cast<VkBuffer>(uintptr_t{0x10});
  kernels::BoundLinearInput in;
  in.format = WeightFormat::kQ4;
  in.rows = 1000;
  in.cols = 2048;
  in.group = 32;
  in.data = {wbuf, 256, 1000 * 1024};
  in.scales = {wbuf, 256 + 1000 * 1024, 1000 * 128};
  in.max_range = 1 << 20;
  in.offset_alignment = 16;
  auto plan = kernels::plan_bound_linear(in);
  REQUIRE(plan);
  CHECK(plan->slices.size() == 1);
  CHECK(plan->slices[0].scales.offset == 256 + 1000 * 1024);
  in.max_range = 300 * 1024;  // 300 rows of q4 data: slices of 256 rows (whole 128-row blocks)
  plan = kernels::plan_bound_linear(in);
  REQUIRE(plan);
  REQUIRE(plan->slices.size() == 4);
  CHECK(plan->slices[1].row0 == 256);
  CHECK(plan->slices[3].rows == 1000 - 768);
  CHECK(plan->slices[1].data.offset == 256 + 256 * 1024);
  CHECK(plan->slices[1].scales.offset == 256 + 1000 * 1024 + 256 * 128);
  in.heads = 2;  // per-head rows cannot be sliced
  in.rows = 500;
  CHECK_FALSE(kernels::plan_bound_linear(in));
  in.heads = 1;
  in.rows = 1000;
  in.data.offset = 8;  // an unaligned weight keeps device addresses
  CHECK_FALSE(kernels::plan_bound_linear(in));
  in.data.offset = 256;
  in.format = WeightFormat::kQ4K;  // block formats have no bound twin
  CHECK_FALSE(kernels::plan_bound_linear(in));
  in.format = WeightFormat::kQ4;
  in.scales.size = 999 * 128;  // scales past their buffer
  CHECK_FALSE(kernels::plan_bound_linear(in));
}

TEST_CASE("linear: very long rows (the per-invocation loop limit)") {
  // 70000 aligned columns run in the lane shape; 70001 unaligned columns need more than 65535
  // scalar iterations per lane, so the chooser must fall back to a reduction shape.
  for (const FormatCase& fc : {FormatCase{WeightFormat::kF16, 0}, FormatCase{WeightFormat::kQ4, 128},
                               FormatCase{WeightFormat::kFp8, 128}}) {
    check_linear(fc, {3, 70000, 1, 1, true, false, 0, 0, 0, 0}, std::nullopt);
    check_linear(fc, {2, 70001, 2, 2, false, true, 0, 0, 0, 0}, std::nullopt);
    // A fused RMSNorm's sum of squares is a loop over all 70000 columns of its own: lanes would
    // stop it at 65535 columns and scale by a wrong norm, so the chooser must fall back here too.
    for (std::optional<bool> bound : {std::optional<bool>(), std::optional<bool>(false), std::optional<bool>(true)})
      check_linear_norm(fc, {3, 70000, 2, 2, true, false, 0, 0, 0, 0}, 0, std::nullopt, bound);
  }
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("linear_heads: per-head blocks of every format") {
  struct HeadsCase {
    uint32_t heads, rows_per_head, cols, stride, offset, max_tokens, n_tokens;
  };
  for (const FormatCase& fc : kFormats) {
    for (const HeadsCase& hc : {HeadsCase{4, 24, 40, 48, 8, 1, 1}, HeadsCase{3, 50, 64, 70, 3, 6, 5},
                                HeadsCase{2, 129, 136, 136, 0, 3, 3}}) {
      for (const auto& shape : {kShapes[0], kShapes[2]}) {
        CAPTURE(weight_format_name(fc.format));
        CAPTURE(hc.heads);
        CAPTURE(hc.cols);
        CAPTURE(hc.max_tokens);
        const uint32_t rows = hc.heads * hc.rows_per_head, in_cols = hc.heads * hc.stride + 5;
        const Packed w = make_weight(fc.format, rows, hc.cols, fc.group, rows + hc.cols);
        const auto x = test::random_floats(size_t{hc.max_tokens} * in_cols, 9 + rows);
        const auto y0 = test::random_floats(size_t{hc.max_tokens} * rows, 10 + rows);
        const vk::Buffer bx = upload(x, "x"), by = upload(y0, "y"), step = step_buffer(hc.n_tokens, 0);
        std::vector<float> want = y0;
        for (uint32_t t = 0; t < hc.n_tokens; ++t)
          for (uint32_t h = 0; h < hc.heads; ++h)
            for (uint32_t r = 0; r < hc.rows_per_head; ++r) {
              double s = 0;
              const size_t row = size_t{h} * hc.rows_per_head + r;
              for (uint32_t k = 0; k < hc.cols; ++k)
                s += double(w.w[row * hc.cols + k]) * x[size_t{t} * in_cols + h * hc.stride + hc.offset + k];
              want[size_t{t} * rows + row] = static_cast<float>(s);
            }
        LinearKernels& lk = fixture().linear;
        lk.set_shape_override(shape);
        run_ok([&](vk::CommandBuffer& cmd) {
          return lk.record_linear_heads(cmd, w.view(), hc.heads, ActView{bx.address(), in_cols, in_cols}, hc.stride,
                                        hc.offset, ActView{by.address(), rows, rows}, StepView{step.address(), hc.max_tokens});
        });
        lk.set_shape_override(std::nullopt);
        check_close(download(by, y0.size()), want, tolerance(hc.cols));
      }
    }
  }
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("embed: dequantised rows, zero row at position 0, out-of-range ids") {
  for (const FormatCase& fc : kFormats) {
    CAPTURE(weight_format_name(fc.format));
    const uint32_t vocab = 50, dim = 70, max_tokens = 6;
    const Packed table = make_weight(fc.format, vocab, dim, fc.group, 77);
    const std::vector<int32_t> ids = {3, 49, -1, 0, 50, 17};
    for (bool zero0 : {false, true}) {
      for (uint32_t pos0 : {0u, 5u}) {
        const uint32_t n_tokens = 5;
        const auto y0 = test::random_floats(size_t{max_tokens} * (dim + 2), 8);
        const vk::Buffer bids = upload(ids, "ids"), by = upload(y0, "y"), step = step_buffer(n_tokens, pos0);
        std::vector<float> want = y0;
        for (uint32_t t = 0; t < n_tokens; ++t)
          for (uint32_t c = 0; c < dim; ++c) {
            const bool zero = ids[t] < 0 || ids[t] >= int32_t(vocab) || (zero0 && pos0 + t == 0);
            want[size_t{t} * (dim + 2) + c] = zero ? 0.0f : table.w[size_t(ids[t]) * dim + c];
          }
        run_ok([&](vk::CommandBuffer& cmd) {
          return fixture().linear.record_embed(cmd, table.view(), ActView{bids.address(), 1, 1},
                                               ActView{by.address(), dim + 2, dim}, zero0, StepView{step.address(), max_tokens});
        });
        check_close(download(by, y0.size()), want, test::kTolF32Exact);
      }
    }
  }
  CHECK(test::validation_errors() == 0);
}

// The MTP input in one dispatch (shaders/embed_norm.comp): against the CPU reference (embedding
// row of the unpacked table, then ref::rmsnorm; inversesqrt on the device: a few ULP, so
// kTolF32Transcendental) and against the unfused kernels (record_embed, then record_rmsnorm
// twice), which it must equal bit for bit: the recorder swaps one for the other and greedy
// output must not change.
TEST_CASE("embed_norm: embedding + its RMSNorm + a second row RMSNorm, equal to the unfused kernels") {
  auto& ak = fixture().attention;
  for (const FormatCase& fc : kFormats) {
    CAPTURE(weight_format_name(fc.format));
    CAPTURE(fc.group);
    for (uint32_t dim : {128u, 70u, 7168u}) {
      CAPTURE(dim);
      const uint32_t vocab = 40, max_tokens = 6, n_tokens = 5, cat = 2 * dim + 3, h_stride = dim + 1;
      const Packed table = make_weight(fc.format, vocab, dim, fc.group, 78 + dim);
      const std::vector<int32_t> ids = {3, 39, -1, 0, 40, 17};
      const auto h = test::random_floats(size_t{max_tokens} * h_stride, 5 + dim, -3, 3);
      const auto we = test::random_floats(dim, 6 + dim, 0.5f, 1.5f), wh = test::random_floats(dim, 7 + dim, 0.5f, 1.5f);
      const std::vector<float> y0(size_t{max_tokens} * cat, 7.0f);
      for (uint32_t pos0 : {0u, 5u}) {
        CAPTURE(pos0);
        const vk::Buffer bids = upload(ids, "ids"), bh = upload(h, "h"), bwe = upload(we, "we"), bwh = upload(wh, "wh");
        const vk::Buffer fused = upload(y0, "fused"), plain = upload(y0, "plain"), tmp = upload(y0, "embedded");
        const vk::Buffer step = step_buffer(n_tokens, pos0);
        const StepView sv{step.address(), max_tokens};
        const ActView tokens{bids.address(), 1, 1};
        // [enorm(embed) | 3 untouched columns | hnorm(h)] per row, as the MTP layer's concat.
        auto left = [&](const vk::Buffer& b) { return ActView{b.address(), cat, dim}; };
        auto right = [&](const vk::Buffer& b) { return ActView{b.address() + 4ull * (dim + 3), cat, dim}; };
        const ActView hv{bh.address(), h_stride, dim};
        run_ok([&](vk::CommandBuffer& cmd) {
          return fixture().linear.record_embed_norm(cmd, table.view(), tokens, left(fused), true, {bwe.address(), 1e-6f},
                                                    {hv, right(fused), bwh.address(), 2e-6f}, sv);
        });
        run_ok([&](vk::CommandBuffer& cmd) -> Status {
          R1VK_TRY(fixture().linear.record_embed(cmd, table.view(), tokens, left(tmp), true, sv));
          cmd.compute_barrier();
          R1VK_TRY(ak.record_rmsnorm(cmd, left(tmp), bwe.address(), 1e-6f, left(plain), sv));
          return ak.record_rmsnorm(cmd, hv, bwh.address(), 2e-6f, right(plain), sv);
        });
        const auto got = download(fused, y0.size());
        std::vector<float> want = y0;
        for (uint32_t t = 0; t < n_tokens; ++t) {
          const bool zero = ids[t] < 0 || ids[t] >= int32_t(vocab) || pos0 + t == 0;
          std::vector<float> e(dim, 0.0f);
          if (!zero) std::copy_n(table.w.begin() + size_t(ids[t]) * dim, dim, e.begin());
          ref::rmsnorm(e, we, 1e-6f, std::span(want).subspan(size_t{t} * cat, dim));
          ref::rmsnorm(std::span(h).subspan(size_t{t} * h_stride, dim), wh, 2e-6f,
                       std::span(want).subspan(size_t{t} * cat + dim + 3, dim));
        }
        check_close(got, want, test::kTolF32Transcendental);
        const auto unfused = download(plain, y0.size());
        CHECK(std::memcmp(got.data(), unfused.data(), got.size() * 4) == 0);
      }
    }
  }
  // Bad arguments are errors, not dispatches.
  auto cmd = test::context().create_command_buffer();
  REQUIRE(cmd.ok());
  REQUIRE(cmd->begin(true).ok());
  const Packed table = make_weight(WeightFormat::kF16, 4, 8, 0, 1);
  const vk::Buffer b = upload(std::vector<float>(64, 0.0f), "b"), step = step_buffer(1, 0);
  const ActView v{b.address(), 8, 8};
  CHECK_FALSE(fixture().linear.record_embed_norm(*cmd, table.view(), v, v, false, {}, {}, {step.address(), 1}).ok());  // no weight
  CHECK_FALSE(fixture()
                  .linear.record_embed_norm(*cmd, table.view(), v, v, false, {b.address(), 1e-6f},
                                            {v, ActView{b.address(), 8, 4}, b.address(), 1e-6f}, {step.address(), 1})
                  .ok());  // second output narrower than its input
  CHECK(test::validation_errors() == 0);
}

float silu(float v) { return v / (1.0f + std::exp(-v)); }

TEST_CASE("moe_experts: steps take the grouped path where grouping saves expert reads") {
  CHECK_FALSE(LinearKernels::moe_grouped_path(1, 2, 8));
  CHECK_FALSE(LinearKernels::moe_grouped_path(2, 2, 8));  // an MTP verify step of the demo model
  CHECK(LinearKernels::moe_grouped_path(4, 2, 8));
  CHECK(LinearKernels::moe_grouped_path(16, 2, 8));
  CHECK(LinearKernels::moe_grouped_path(5, 2, 6));  // the grouped case below
  CHECK_FALSE(LinearKernels::moe_grouped_path(2, 8, 256));  // R1: 16 jobs, ~15.5 distinct experts
  CHECK(LinearKernels::moe_grouped_path(64, 8, 256));
}

TEST_CASE("moe_experts: routed experts read ids and weights from device buffers") {
  const uint32_t experts = 6, top_k = 2, width = 40, hidden = 72;
  for (const FormatCase& fc : kFormats) {
    for (const auto& shape : {kShapes[0], kShapes[1], kShapes[2], std::optional<LinearShape>(LinearShape{"sg", 64, 2, 1})}) {
      // x_shift 3: the grouped GEMMs' x off a texel boundary, rows not whole texels (scalar fetches).
      for (auto [max_tokens, x_shift] : {std::pair{1u, 0u}, std::pair{4u, 0u}, std::pair{5u, 0u}, std::pair{5u, 3u}}) {
        const bool grouped = max_tokens == 5;  // prefill path: jobs grouped by expert
        const uint32_t in_stride = hidden + x_shift;
        CAPTURE(weight_format_name(fc.format));
        CAPTURE(max_tokens);
        CAPTURE(grouped);
        CAPTURE(x_shift);
        std::vector<Packed> gate_up, down;
        std::vector<uint64_t> table;
        for (uint32_t e = 0; e < experts; ++e) {
          gate_up.push_back(make_weight(fc.format, 2 * width, hidden, fc.group, 100 + e));
          down.push_back(make_weight(fc.format, hidden, width, fc.group, 200 + e));
          const auto& gu = gate_up.back();
          const auto& dn = down.back();
          table.insert(table.end(), {gu.data.address(), gu.view().scales, dn.data.address(), dn.view().scales});
        }
        const uint32_t n_tokens = max_tokens == 1 ? 1 : grouped ? max_tokens : max_tokens - 1;
        const auto x = test::random_floats(size_t{max_tokens} * in_stride + x_shift, 31);
        // Token 2 has an out-of-range id (it contributes nothing); expert 4 serves every token, more
        // jobs than the grouped grid has blocks for one expert with one token per invocation, so
        // the grid-stride loop runs.
        const std::vector<int32_t> ids = {4, 1, 4, 5, 4, 6, 4, 3, 4, 1};
        const std::vector<float> rw = {0.7f, 0.3f, 1.2f, -0.4f, 0.5f, 0.5f, 0.9f, 0.1f, 0.6f, -0.2f};
        const auto y0 = test::random_floats(size_t{max_tokens} * hidden, 32);
        const vk::Buffer bx = upload(x, "x"), bt = upload(table, "experts"), bi = upload(ids, "ids"),
                         bw = upload(rw, "route_w"), by = upload(y0, "y"), step = step_buffer(n_tokens, 0);
        const uint64_t scratch_bytes = grouped ? LinearKernels::moe_grouped_scratch_bytes(max_tokens, top_k, width, hidden, experts)
                                               : LinearKernels::moe_scratch_bytes(max_tokens, top_k, width);
        auto scratch = test::zeros(scratch_bytes, "scratch");
        REQUIRE(scratch.ok());
        std::vector<float> want = y0;
        for (uint32_t t = 0; t < n_tokens; ++t)
          for (uint32_t k = 0; k < top_k; ++k) {
            const uint32_t e = static_cast<uint32_t>(ids[t * top_k + k]);
            if (e >= experts) continue;
            std::vector<float> act(width);
            for (uint32_t i = 0; i < width; ++i) {
              double g = 0, u = 0;
              for (uint32_t c = 0; c < hidden; ++c) {
                g += double(gate_up[e].w[size_t{i} * hidden + c]) * x[x_shift + size_t{t} * in_stride + c];
                u += double(gate_up[e].w[size_t{width + i} * hidden + c]) * x[x_shift + size_t{t} * in_stride + c];
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
        a.format = fc.format;
        a.experts = experts;
        a.top_k = top_k;
        a.width = width;
        a.hidden = hidden;
        a.group = static_cast<uint32_t>(fc.group);
        a.in = {bx.address() + 4ull * x_shift, in_stride, hidden};
        a.ids = {bi.address(), top_k, top_k};
        a.weights = {bw.address(), top_k, top_k};
        a.out = {by.address(), hidden, hidden};
        a.scratch = scratch->address();
        a.scratch_size = scratch_bytes;
        LinearKernels& lk = fixture().linear;
        lk.set_shape_override(shape);
        // The device's default shape runs with x through device addresses, the forced lanes
        // shape with x bound (grouped GEMMs, where push descriptors exist).
        const bool bound = shape && shape->lanes();
        lk.set_bound_override(bound);
        const uint64_t bound_before = lk.bound_dispatches();
        run_ok([&](vk::CommandBuffer& cmd) { return lk.record_moe_experts(cmd, a, StepView{step.address(), max_tokens}); });
        lk.set_shape_override(std::nullopt);
        lk.set_bound_override(std::nullopt);
        if (test::context().caps().push_descriptor)
          CHECK(lk.bound_dispatches() - bound_before == (bound && grouped ? 2u : 0u));
        check_close(download(by, y0.size()), want, {1e-9, 1e-4});
      }
    }
  }
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("linear: a row grid past maxComputeWorkGroupCount[2] is an error, not a dispatch") {
  // Row blocks run on grid z (linear.comp): with one row per workgroup, one row more than z allows.
  const vk::DeviceCaps& caps = test::context().caps();
  const uint32_t rows = caps.max_workgroup_count[2] + 1, cols = 4;
  if (caps.max_workgroup_count[2] > (1u << 20)) return;  // a weight of that many rows is too big here
  const LinearShape one_row{vk::has_subgroup_reduce(caps) ? "sg" : "shared", 64, 1, 1};
  REQUIRE(kernels::linear_shape_problem(one_row, caps).empty());
  const Packed w = make_weight(WeightFormat::kF32, rows, cols, 0, 2);
  const vk::Buffer bx = upload(std::vector<float>(cols, 1.0f), "x"), by = upload(std::vector<float>(rows), "y");
  const vk::Buffer step = step_buffer(1, 0);
  LinearKernels& lk = fixture().linear;
  lk.set_shape_override(one_row);
  const Status st = test::run([&](vk::CommandBuffer& cmd) {
    return lk.record_linear(cmd, w.view(), 0, ActView{bx.address(), cols, cols}, ActView{by.address(), rows, rows}, false,
                            StepView{step.address(), 1});
  });
  lk.set_shape_override(std::nullopt);
  REQUIRE_FALSE(st.ok());
  CHECK(st.error().message().find("exceeds the device's workgroup counts") != std::string::npos);
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("matrix kernels reject bad views with errors") {
  const Packed w = make_weight(WeightFormat::kQ4, 8, 64, 32, 1);
  const vk::Buffer bx = upload(std::vector<float>(64), "x"), by = upload(std::vector<float>(8), "y"), step = step_buffer(1, 0);
  auto record = [&](const WeightView& wv, const ActView& in, const ActView& out) {
    return test::run([&](vk::CommandBuffer& cmd) {
      return fixture().linear.record_linear(cmd, wv, 0, in, out, false, StepView{step.address(), 1});
    });
  };
  const ActView in{bx.address(), 64, 64}, out{by.address(), 8, 8};
  CHECK_FALSE(record(w.view(), ActView{bx.address(), 64, 63}, out).ok());  // column mismatch
  CHECK_FALSE(record(w.view(), in, ActView{by.address(), 4, 8}).ok());     // stride < cols
  WeightView bad_group = w.view();
  bad_group.group = 64;
  CHECK_FALSE(record(bad_group, in, out).ok());
  WeightView no_scales = w.view();
  no_scales.scales = 0;
  CHECK_FALSE(record(no_scales, in, out).ok());
  CHECK(record(w.view(), in, out).ok());
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("linear shape chooser: lanes on CPU drivers, reductions on GPUs, loop-limit fallback") {
  vk::DeviceCaps cpu;
  cpu.type = VK_PHYSICAL_DEVICE_TYPE_CPU;
  cpu.subgroup_size = cpu.min_subgroup_size = cpu.max_subgroup_size = 8;
  cpu.subgroup_ops_in_compute = true;
  cpu.subgroup_ops = VK_SUBGROUP_FEATURE_BASIC_BIT | VK_SUBGROUP_FEATURE_ARITHMETIC_BIT;
  cpu.max_workgroup_invocations = 1024;
  const LinearShape gemv = kernels::choose_linear_shape(cpu, WeightFormat::kQ4, 14336, 1, false);
  CHECK(gemv.lanes());
  CHECK(gemv.tokens == 1);
  CHECK(gemv.workgroup == 8);
  const LinearShape gemm = kernels::choose_linear_shape(cpu, WeightFormat::kQ4, 14336, 512, false);
  CHECK(gemm.tokens > 1);
  CHECK(kernels::choose_linear_shape(cpu, WeightFormat::kQ4, 14336, 512, true).tokens == 1);  // MoE: one job each
  // Unaligned f16 rows run scalar: past 65535 columns a lane would exceed the loop limit.
  const LinearShape longrow = kernels::choose_linear_shape(cpu, WeightFormat::kF16, 70001, 1, false);
  CHECK_FALSE(longrow.lanes());
  CHECK(kernels::linear_loop_iterations(longrow, WeightFormat::kF16, 70001) < vk::kLoopIterationLimit);
  // Aligned f16 rows run in chunks of 8, but a fused RMSNorm's sum of squares goes column by column.
  CHECK(kernels::choose_linear_shape(cpu, WeightFormat::kF16, 70000, 1, false).lanes());
  CHECK_FALSE(kernels::choose_linear_shape(cpu, WeightFormat::kF16, 70000, 1, false, true).lanes());

  // Small matrices keep no more rows per lane than one workgroup needs (f16 GEMV: 8 per lane).
  const LinearShape f16 = kernels::choose_linear_shape(cpu, WeightFormat::kF16, 64, 1, false);
  CHECK(kernels::fit_linear_rows(f16, 4096).rows == f16.rows);
  CHECK(kernels::fit_linear_rows(f16, 64).rows == 8);  // 8 lanes x 8 rows: exactly one workgroup
  CHECK(kernels::fit_linear_rows(f16, 16).rows == 2);  // MLA's per-head value rows of a small model
  CHECK(kernels::fit_linear_rows(f16, 17).rows == 4);  // covers 17 rows with one workgroup
  CHECK(kernels::fit_linear_rows(f16, 1).rows == 1);
  CHECK(kernels::fit_linear_rows(gemv, 64).rows == 8);  // q4: 16 -> 8
  CHECK(kernels::fit_linear_rows(LinearShape{"sg", 64, 4, 1}, 1).rows == 4);  // GPU shapes as given

  vk::DeviceCaps gpu = cpu;
  gpu.type = VK_PHYSICAL_DEVICE_TYPE_DISCRETE_GPU;
  gpu.min_subgroup_size = 32;
  gpu.max_subgroup_size = 64;
  CHECK(kernels::choose_linear_shape(gpu, WeightFormat::kF16, 4096, 1, false).shape == "sg");
  gpu.subgroup_ops = VK_SUBGROUP_FEATURE_BASIC_BIT;
  const LinearShape shared = kernels::choose_linear_shape(gpu, WeightFormat::kF16, 4096, 1, false);
  CHECK(shared.shape == "shared");
  CHECK(kernels::linear_shape_problem(shared, gpu).empty());
  CHECK_FALSE(kernels::linear_shape_problem(LinearShape{"shared", 96, 4, 1}, gpu).empty());  // not a power of two
  CHECK_FALSE(kernels::linear_shape_problem(LinearShape{"sg", 64, 4, 1}, gpu).empty());      // no subgroup arithmetic
}

}  // namespace
}  // namespace r1vk
