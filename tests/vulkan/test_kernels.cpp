// Each kernel against the r1vk::ref CPU oracle over awkward sizes (not multiples of the
// workgroup size, one row, very long rows, odd column counts), with the validation layer on.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <vector>

#include "base/numeric_formats.h"
#include "harness/kernel_harness.h"
#include "reference/reference_ops.h"

namespace r1vk {
namespace {

using test::kernels;

void check_against(const std::vector<float>& got, const std::vector<float>& want, const test::Tolerance& tol) {
  const test::Comparison c = test::compare(got, want);
  INFO(c.describe(tol));
  CHECK(c.within(tol));
}

std::vector<float> run_rmsnorm(const std::vector<float>& x, const std::vector<float>& w, uint32_t rows, uint32_t dim,
                               float eps) {
  auto bx = test::upload_new(x, "x");
  auto bw = test::upload_new(w, "weight");
  auto by = test::zeros(x.size() * 4, "y");
  REQUIRE(bx.ok());
  REQUIRE(bw.ok());
  REQUIRE(by.ok());
  auto st = test::run([&](vk::CommandBuffer& cmd) { return kernels().record_rmsnorm(cmd, *bx, *bw, *by, rows, dim, eps); });
  REQUIRE_MESSAGE(st.ok(), (st.ok() ? "" : st.error().message()));
  auto out = test::download_floats(*by, x.size());
  REQUIRE(out.ok());
  return *out;
}

TEST_CASE("rmsnorm matches the reference") {
  struct Shape { uint32_t rows, dim; };
  for (Shape s : {Shape{1, 1}, Shape{1, 7}, Shape{3, 257}, Shape{5, 7168}, Shape{2, 100003}, Shape{70, 33}}) {
    CAPTURE(s.rows);
    CAPTURE(s.dim);
    const auto x = test::random_floats(size_t{s.rows} * s.dim, 11 + s.dim, -3.0f, 3.0f);
    const auto w = test::random_floats(s.dim, 12 + s.dim, 0.5f, 1.5f);
    const float eps = 1e-6f;
    std::vector<float> want(x.size());
    for (uint32_t r = 0; r < s.rows; ++r)
      ref::rmsnorm(std::span(x).subspan(size_t{r} * s.dim, s.dim), w, eps, std::span(want).subspan(size_t{r} * s.dim, s.dim));
    check_against(run_rmsnorm(x, w, s.rows, s.dim, eps), want, test::kTolF32Transcendental);
  }
  CHECK(test::validation_errors() == 0);
}

enum class Binary { kAdd, kSwiglu };

void check_binary(Binary op, uint32_t n) {
  CAPTURE(n);
  const auto a = test::random_floats(n, 21 + n, -8.0f, 8.0f);
  const auto b = test::random_floats(n, 22 + n, -2.0f, 2.0f);
  std::vector<float> want(n);
  if (op == Binary::kAdd) ref::add(a, b, want);
  else ref::swiglu(a, b, want);
  auto ba = test::upload_new(a, "a");
  auto bb = test::upload_new(b, "b");
  auto bo = test::zeros(size_t{n} * 4, "out");
  REQUIRE(ba.ok());
  REQUIRE(bb.ok());
  REQUIRE(bo.ok());
  auto st = test::run([&](vk::CommandBuffer& cmd) {
    return op == Binary::kAdd ? kernels().record_add(cmd, *ba, *bb, *bo, n) : kernels().record_swiglu(cmd, *ba, *bb, *bo, n);
  });
  REQUIRE_MESSAGE(st.ok(), (st.ok() ? "" : st.error().message()));
  auto got = test::download_floats(*bo, n);
  REQUIRE(got.ok());
  check_against(*got, want, op == Binary::kAdd ? test::kTolF32Exact : test::kTolF32Transcendental);
}

TEST_CASE("residual add matches the reference") {
  for (uint32_t n : {1u, 7u, 255u, 256u, 257u, 100003u, 17000000u}) check_binary(Binary::kAdd, n);
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("swiglu matches the reference, including saturated gates") {
  for (uint32_t n : {1u, 3u, 1000u, 18433u}) check_binary(Binary::kSwiglu, n);
  // Extreme gates: silu(-100) = -0 (no NaN from exp overflow), silu(100) = 100.
  auto ga = test::upload_new(std::vector<float>{-100.0f, 100.0f, -90.0f, 0.0f}, "gate");
  auto up = test::upload_new(std::vector<float>{1.0f, 2.0f, 3.0f, 4.0f}, "up");
  auto out = test::zeros(16, "out");
  REQUIRE(ga.ok());
  REQUIRE(up.ok());
  REQUIRE(out.ok());
  REQUIRE(test::run([&](vk::CommandBuffer& cmd) { return kernels().record_swiglu(cmd, *ga, *up, *out, 4); }).ok());
  auto got = test::download_floats(*out, 4);
  REQUIRE(got.ok());
  CHECK((*got)[0] == doctest::Approx(0.0).epsilon(1e-6));
  CHECK((*got)[1] == doctest::Approx(200.0).epsilon(1e-6));
  CHECK((*got)[2] == doctest::Approx(0.0).epsilon(1e-6));
  CHECK((*got)[3] == 0.0f);
  CHECK(test::validation_errors() == 0);
}

void check_gemv(uint32_t rows, uint32_t cols) {
  CAPTURE(rows);
  CAPTURE(cols);
  const auto w16 = test::random_f16(size_t{rows} * cols, 31 + rows + cols);
  const auto x = test::random_floats(cols, 1000003 + cols);  // seed unlike W's
  std::vector<float> w32(w16.size());
  for (size_t i = 0; i < w16.size(); ++i) w32[i] = f16_to_f32(w16[i]);
  std::vector<float> want(rows);
  ref::matvec(w32, rows, cols, x, want);
  auto bw = test::upload_new(w16, "W");
  auto bx = test::upload_new(x, "x");
  auto by = test::zeros(size_t{rows} * 4, "y");
  REQUIRE(bw.ok());
  REQUIRE(bx.ok());
  REQUIRE(by.ok());
  auto st = test::run([&](vk::CommandBuffer& cmd) { return kernels().record_gemv_f16(cmd, *bw, *bx, *by, rows, cols); });
  REQUIRE_MESSAGE(st.ok(), (st.ok() ? "" : st.error().message()));
  auto got = test::download_floats(*by, rows);
  REQUIRE(got.ok());
  check_against(*got, want, test::gemv_f16_tolerance(cols));
}

struct GemvShape { uint32_t rows, cols; };
// cols: multiple of 8 (uvec4 path), even (uint path), odd (scalar path); rows: 1, primes, and
// counts that leave partial row groups.
constexpr GemvShape kGemvShapes[] = {{1, 1}, {1, 8}, {3, 5}, {7, 6}, {13, 1000}, {64, 64}, {33, 4097},
                                     {5, 100000}, {2, 100001}, {1, 100002}, {1030, 136},
                                     {2, 600000}, {2, 1048576}};  // the last: past the lane variant's loop limit

TEST_CASE("f16 GEMV matches the reference for the device's default variant") {
  for (GemvShape s : kGemvShapes) check_gemv(s.rows, s.cols);
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("f16 GEMV over a weight buffer larger than maxStorageBufferRange: sliced descriptors and BDA") {
  const uint64_t range = test::context().caps().max_storage_buffer_range;
  if (range > (256ull << 20)) {
    MESSAGE("maxStorageBufferRange is " << range << " bytes; skipping the > range case to keep the suite fast");
    return;
  }
  const uint32_t cols = 8192;
  const auto rows = static_cast<uint32_t>(range / (cols * 2) + 3);  // W is 3 rows past the limit
  check_gemv(rows, cols);  // default variant (on lavapipe: descriptors, split into two slices)
  const vk::GemvChoice saved = kernels().gemv_choice();
  kernels().set_gemv_choice({"gemv_f16_lanes", 8, 64});  // BDA: one pointer, no split
  check_gemv(rows, cols);
  kernels().set_gemv_choice(saved);
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("f16 GEMV matches the reference for every reduction variant and row grouping") {
  const vk::GemvChoice saved = kernels().gemv_choice();
  const vk::DeviceCaps& caps = test::context().caps();
  std::vector<vk::GemvChoice> choices = {{"gemv_f16_shared", 64, 1}, {"gemv_f16_shared", 32, 3},
                                         {"gemv_f16_lanes", 8, 8},   {"gemv_f16_lanes", 8, 64},
                                         {"gemv_f16_lanes", 16, 32}};
  if (caps.push_descriptor) {
    choices.push_back({"gemv_f16_lanes_desc", 8, 64});
    choices.push_back({"gemv_f16_lanes_desc", 8, 8});
  }
  if (vk::has_subgroup_reduce(caps)) {
    choices.push_back({"gemv_f16_sg", 128, 2});
    if (caps.min_subgroup_size == caps.max_subgroup_size) {
      choices.push_back({"gemv_f16_sg1", caps.subgroup_size, 1});
      choices.push_back({"gemv_f16_sg1", caps.subgroup_size, 8});
    }
  }
  for (const auto& c : choices) {
    CAPTURE(c.variant);
    CAPTURE(c.workgroup_size);
    CAPTURE(c.rows_per_workgroup);
    kernels().set_gemv_choice(c);
    for (GemvShape s : {GemvShape{1, 1}, GemvShape{9, 7}, GemvShape{17, 130}, GemvShape{5, 4104}, GemvShape{131, 64},
                        GemvShape{70, 160}, GemvShape{3, 4096}})
      check_gemv(s.rows, s.cols);
  }
  kernels().set_gemv_choice(saved);
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("GEMV variant choices a device cannot run are rejected, not run") {
  const vk::DeviceCaps& caps = test::context().caps();
  CHECK_FALSE(vk::gemv_choice_problem({"gemv_f16_shared", 48, 1}, caps).empty());   // not a power of two
  CHECK_FALSE(vk::gemv_choice_problem({"gemv_f16_lanes", 8, 12}, caps).empty());    // not whole rows per lane
  CHECK_FALSE(vk::gemv_choice_problem({"gemv_f16_sg", 0, 1}, caps).empty());
  CHECK_FALSE(vk::gemv_choice_problem({"gemv_f16_sg", caps.max_workgroup_invocations * 2, 1}, caps).empty());
  CHECK(vk::gemv_choice_problem(vk::choose_gemv_f16(caps), caps).empty());
}

TEST_CASE("the copy kernel copies exactly") {
  for (uint32_t n : {8u, 8000u, 3000008u}) {  // floats; bytes are multiples of 32
    CAPTURE(n);
    const auto src = test::random_floats(n, 41 + n);
    auto bs = test::upload_new(src, "src");
    auto bd = test::zeros(size_t{n} * 4 + 64, "dst");  // larger: the tail must stay untouched
    REQUIRE(bs.ok());
    REQUIRE(bd.ok());
    REQUIRE(test::run([&](vk::CommandBuffer& cmd) { return kernels().record_copy(cmd, *bs, *bd, uint64_t{n} * 4); }).ok());
    auto got = test::download_floats(*bd, n + 16);
    REQUIRE(got.ok());
    CHECK(std::equal(src.begin(), src.end(), got->begin()));
    CHECK(std::all_of(got->begin() + n, got->end(), [](float v) { return v == 0.0f; }));
  }
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("kernels reject shapes their buffers cannot hold") {
  auto small = test::zeros(64, "small");
  auto big = test::zeros(4096, "big");
  REQUIRE(small.ok());
  REQUIRE(big.ok());
  auto cmd = test::context().create_command_buffer();
  REQUIRE(cmd.ok());
  REQUIRE(cmd->begin().ok());
  auto e1 = kernels().record_gemv_f16(*cmd, *small, *big, *big, 8, 8);  // W needs 128 bytes
  REQUIRE_FALSE(e1.ok());
  CHECK(e1.error().code() == ErrorCode::kOutOfRange);
  CHECK(e1.error().message().find("small") != std::string::npos);
  CHECK_FALSE(kernels().record_rmsnorm(*cmd, *big, *small, *big, 1, 32, 1e-6f).ok());
  CHECK_FALSE(kernels().record_add(*cmd, *big, *big, *small, 17).ok());
  CHECK_FALSE(kernels().record_gemv_f16(*cmd, *big, *big, *big, 0, 8).ok());
  CHECK_FALSE(kernels().record_copy(*cmd, *big, *big, 15).ok());
  // A row so long that one invocation would loop past lavapipe's 65535-iteration limit.
  const vk::GemvChoice saved = kernels().gemv_choice();
  kernels().set_gemv_choice({"gemv_f16_shared", 8, 1});
  auto huge_w = test::context().create_buffer(600001 * 2, vk::MemoryUsage::kDeviceLocal, "huge_w");
  auto huge_x = test::context().create_buffer(600001 * 4, vk::MemoryUsage::kDeviceLocal, "huge_x");
  REQUIRE(huge_w.ok());
  REQUIRE(huge_x.ok());
  auto e2 = kernels().record_gemv_f16(*cmd, *huge_w, *huge_x, *big, 1, 600001);
  kernels().set_gemv_choice(saved);
  REQUIRE_FALSE(e2.ok());
  CHECK(e2.error().message().find("65535") != std::string::npos);
  REQUIRE(cmd->end().ok());
  CHECK(test::validation_errors() == 0);
}

}  // namespace
}  // namespace r1vk
