// End to end on the Vulkan device: plans of every architecture and weight format run through
// prefill chunks and decode steps, and their logits at every position are compared with the
// CPU interpreter of the same plan (same packed weights: isolates the kernels) and with the
// naive reference forward pass (isolates nothing: the whole stack).
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "compiler/plan_test_util.h"
#include "exec/model.h"
#include "exec/session.h"
#include "harness/kernel_harness.h"
#include "reference/reference_model.h"
#include "reference/logit_agreement.h"
#include "reference/test_configs.h"

namespace r1vk {
namespace {

const std::vector<int32_t> kTokens = {5, 17, 0, 42, 9, 33, 1, 7, 64, 12, 3, 50, 21, 8, 2, 30, 11, 4, 19, 6};
constexpr size_t kPrefill = 13;  // two chunks of 8 (one partial), then decode steps

// Runs the plan on the device: one feed of the first kPrefill tokens, then one decode step per
// remaining token (fed explicitly, as `r1vk logits` does).
std::vector<float> run_on_device(const std::string& plan_path) {
  auto plan = plan::LoadedPlan::open(plan_path);
  REQUIRE(plan.ok());
  auto model = exec::Model::load(test::context(), std::move(plan).value());
  REQUIRE_MESSAGE(model.ok(), (model.ok() ? std::string() : model.error().message()));
  exec::SessionOptions so;
  so.keep_logits = true;
  auto session = exec::Session::create(**model, so);
  REQUIRE_MESSAGE(session.ok(), (session.ok() ? std::string() : session.error().message()));
  std::vector<float> logits;
  auto s = (*session)->feed(std::span(kTokens).subspan(0, kPrefill), {}, &logits);
  REQUIRE_MESSAGE(s.ok(), (s.ok() ? std::string() : s.error().message()));
  for (size_t i = kPrefill; i < kTokens.size(); ++i) {
    s = (*session)->feed(std::span(kTokens).subspan(i, 1), {}, &logits);
    REQUIRE_MESSAGE(s.ok(), (s.ok() ? std::string() : s.error().message()));
  }
  CHECK((*session)->position() == static_cast<int64_t>(kTokens.size()));
  return logits;
}

std::vector<float> run_interpreter(const std::string& plan_path) {
  auto plan = plan::LoadedPlan::open(plan_path);
  REQUIRE(plan.ok());
  auto model = testing::interpreter_model(*plan);
  REQUIRE(model.ok());
  ref::ProgramInterpreter interp(*model);
  auto first = interp.run(plan->manifest().main, std::span(kTokens).subspan(0, kPrefill), 0);
  REQUIRE(first.ok());
  std::vector<float> logits = *first;
  for (size_t i = kPrefill; i < kTokens.size(); ++i) {
    auto r = interp.run(plan->manifest().main, std::span(kTokens).subspan(i, 1), static_cast<int64_t>(i));
    REQUIRE(r.ok());
    logits.insert(logits.end(), r->begin(), r->end());
  }
  return logits;
}

void check_architecture(const ModelConfig& c, const char* name) {
  auto reference = ref::ReferenceModel::load(c, testing::random_weights(13));
  REQUIRE(reference.ok());
  auto expected = reference->forward(kTokens);
  REQUIRE(expected.ok());
  // Against the same plan on the CPU, every format must agree closely: only summation order and
  // f32 transcendental precision differ. Against the f32 reference, f32/f16 plans are held to
  // the bound (cosine >= 0.999, argmax >= 99%); quantised formats to what they cost on
  // these random tiny models (tests/compiler/test_program_vs_reference.cpp measures the same).
  struct Case {
    const char* format;
    double ref_cos, ref_argmax;
  };
  for (Case k : {Case{"f32", 0.999, 0.99}, Case{"f16", 0.999, 0.99}, Case{"q8", 0.999, 0.85}, Case{"fp8", 0.99, 0.7},
                 Case{"q4", 0.8, 0.5}}) {
    CAPTURE(name);
    CAPTURE(k.format);
    testing::TempPlanPath path(std::string(name) + "_" + k.format);
    CompileOptions opt;
    opt.weights = k.format;
    opt.max_context = 32;
    opt.prefill_chunk = 8;
    REQUIRE(compile_plan(testing::compile_input(c, name, 13), opt, path.str()).ok());
    const auto got = run_on_device(path.str());
    const testing::LogitAgreement kern = testing::compare_logits(run_interpreter(path.str()), got, c.vocab_size);
    const testing::LogitAgreement whole = testing::compare_logits(*expected, got, c.vocab_size);
    std::printf("%s %s: vs interpreter cos %.6f argmax %.3f; vs reference cos %.5f argmax %.3f\n", name, k.format,
                kern.min_cosine, kern.argmax_match, whole.min_cosine, whole.argmax_match);
    CHECK(kern.all_finite);
    CHECK(kern.min_cosine > 0.9999);
    CHECK(kern.argmax_match >= 0.95);
    CHECK(whole.min_cosine > k.ref_cos);
    CHECK(whole.argmax_match >= k.ref_argmax);
  }
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("DeepSeek-V3 on Vulkan matches the references") { check_architecture(testing::tiny_deepseek_v3(), "deepseek-v3"); }
TEST_CASE("DeepSeek-V2 on Vulkan matches the references") { check_architecture(testing::tiny_deepseek_v2(), "deepseek-v2"); }
TEST_CASE("Qwen2 on Vulkan matches the references") { check_architecture(testing::tiny_qwen2(), "qwen2"); }
TEST_CASE("Llama on Vulkan matches the references") { check_architecture(testing::tiny_llama(), "llama"); }

TEST_CASE("a session refuses to run past its context, and keeps its state") {
  testing::TempPlanPath path("ctx_limit");
  CompileOptions opt;
  opt.weights = "f16";
  opt.max_context = 8;
  opt.prefill_chunk = 4;
  REQUIRE(compile_plan(testing::compile_input(testing::tiny_qwen2(), "ctx", 1), opt, path.str()).ok());
  auto plan = plan::LoadedPlan::open(path.str());
  REQUIRE(plan.ok());
  auto model = exec::Model::load(test::context(), std::move(plan).value());
  REQUIRE(model.ok());
  auto session = exec::Session::create(**model);
  REQUIRE(session.ok());
  const std::vector<int32_t> six = {1, 2, 3, 4, 5, 6};
  REQUIRE((*session)->feed(six, {}).ok());
  auto s = (*session)->feed(std::vector<int32_t>{1, 2, 3}, {});
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().code() == ErrorCode::kOutOfRange);
  CHECK(s.error().message() == "context full: 6 + 3 tokens exceed the 8-token context");
  CHECK((*session)->position() == 6);
  REQUIRE((*session)->step({}).ok());
  REQUIRE((*session)->step({}).ok());
  auto over = (*session)->step({});
  REQUIRE_FALSE(over.ok());
  CHECK(over.error().code() == ErrorCode::kOutOfRange);
  auto bad = (*session)->feed(std::vector<int32_t>{101}, {});
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message() == "token 101 is outside the vocabulary of 101");
}

TEST_CASE("greedy decode on the device follows the interpreter's argmax, one submit per step") {
  testing::TempPlanPath path("greedy");
  const ModelConfig c = testing::tiny_deepseek_v3();
  CompileOptions opt;
  opt.weights = "f32";
  opt.max_context = 32;
  opt.prefill_chunk = 8;
  REQUIRE(compile_plan(testing::compile_input(c, "greedy", 4), opt, path.str()).ok());
  auto plan = plan::LoadedPlan::open(path.str());
  REQUIRE(plan.ok());
  auto imodel = testing::interpreter_model(*plan);
  REQUIRE(imodel.ok());
  auto model = exec::Model::load(test::context(), std::move(plan).value());
  REQUIRE(model.ok());
  auto session = exec::Session::create(**model);
  REQUIRE(session.ok());
  const std::vector<int32_t> prompt = {3, 14, 15, 92, 65};
  REQUIRE((*session)->feed(prompt, {}).ok());
  std::vector<int32_t> got = {(*session)->last_token()};
  const uint32_t submits_before = (*session)->submits();
  for (int i = 0; i < 6; ++i) {
    auto t = (*session)->step({});
    REQUIRE(t.ok());
    got.push_back(*t);
  }
  CHECK((*session)->submits() - submits_before == 6);

  ref::ProgramInterpreter interp(*imodel);
  std::vector<int32_t> want;
  auto logits = interp.run((*model)->manifest().main, prompt, 0);
  REQUIRE(logits.ok());
  int64_t pos = static_cast<int64_t>(prompt.size());
  for (int i = 0; i < 7; ++i) {
    const float* last = logits->data() + logits->size() - static_cast<size_t>(c.vocab_size);
    const int32_t next = static_cast<int32_t>(std::max_element(last, last + c.vocab_size) - last);
    want.push_back(next);
    logits = interp.run((*model)->manifest().main, std::vector<int32_t>{next}, pos++);
    REQUIRE(logits.ok());
  }
  CHECK(got == want);
}

}  // namespace
}  // namespace r1vk
