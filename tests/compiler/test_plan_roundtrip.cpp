// Plans written by the compiler load back, validate, dump to their golden text, and run the
// same as the in-memory program.
#include <doctest/doctest.h>

#include <filesystem>
#include <fstream>
#include <iterator>
#include <cmath>
#include <limits>

#include "compiler/plan_test_util.h"
#include "plan/plan_dump.h"
#include "reference/reference_model.h"
#include "reference/test_configs.h"

namespace r1vk {
namespace {

using testing::TempPlanPath;

TEST_CASE("every architecture compiles in every format, loads, and dumps its golden text") {
  struct Arch {
    ModelConfig config;
    const char* name;
  };
  for (const Arch& a : {Arch{testing::tiny_deepseek_v3(), "tiny_deepseek_v3"}, Arch{testing::tiny_deepseek_v2(), "tiny_deepseek_v2"},
                        Arch{testing::tiny_qwen2(), "tiny_qwen2"}, Arch{testing::tiny_llama(), "tiny_llama"}}) {
    for (const char* format : {"f32", "f16", "q8", "q4", "fp8", "auto"}) {
      CAPTURE(a.name);
      CAPTURE(format);
      TempPlanPath path(a.name);
      CompileOptions opt;
      opt.weights = format;
      opt.max_context = 64;
      opt.prefill_chunk = 16;
      auto m = compile_plan(testing::compile_input(a.config, a.name, 3), opt, path.str());
      REQUIRE_MESSAGE(m.ok(), (m.ok() ? std::string() : m.error().message()));
      auto loaded = plan::LoadedPlan::open(path.str());
      REQUIRE_MESSAGE(loaded.ok(), (loaded.ok() ? std::string() : loaded.error().message()));
      CHECK(loaded->manifest().tensors.size() == m->tensors.size());
      if (std::string(format) == "q4") {
        const std::string text = plan::dump_plan(loaded->manifest());
        CHECK(text == testing::golden(std::string("plan_dumps/") + a.name + ".txt", text));
      }
    }
  }
}

TEST_CASE("a loaded plan runs exactly like the freshly built program") {
  const ModelConfig c = testing::tiny_deepseek_v3();
  TempPlanPath path("roundtrip");
  CompileOptions opt;
  opt.weights = "f32";
  opt.max_context = 32;
  opt.prefill_chunk = 8;
  REQUIRE(compile_plan(testing::compile_input(c, "tiny", 9), opt, path.str()).ok());
  auto loaded = plan::LoadedPlan::open(path.str());
  REQUIRE(loaded.ok());
  auto model = testing::interpreter_model(*loaded);
  REQUIRE(model.ok());
  ref::ProgramInterpreter interp(*model);
  const std::vector<int32_t> tokens = {3, 1, 4, 1, 5, 9, 2, 6};
  auto got = interp.run(loaded->manifest().main, tokens, 0);
  REQUIRE(got.ok());
  auto reference = ref::ReferenceModel::load(c, testing::random_weights(9));
  REQUIRE(reference.ok());
  auto want = reference->forward(tokens);
  REQUIRE(want.ok());
  double worst = 0;
  for (size_t i = 0; i < want->size(); ++i) worst = std::max(worst, static_cast<double>(std::fabs((*want)[i] - (*got)[i])));
  CHECK(worst < 2e-3);  // f16 KV cache vs the reference's f32
}

TEST_CASE("the KV cache bound is enforced") {
  const ModelConfig c = testing::tiny_qwen2();
  TempPlanPath path("ctx");
  CompileOptions opt;
  opt.weights = "f32";
  opt.max_context = 4;
  opt.prefill_chunk = 4;
  REQUIRE(compile_plan(testing::compile_input(c, "tiny", 1), opt, path.str()).ok());
  auto loaded = plan::LoadedPlan::open(path.str());
  REQUIRE(loaded.ok());
  auto model = testing::interpreter_model(*loaded);
  REQUIRE(model.ok());
  ref::ProgramInterpreter interp(*model);
  const std::vector<int32_t> tokens = {1, 2, 3, 4, 5};
  auto r = interp.run(loaded->manifest().main, tokens, 0);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message() == "context of 4 tokens exceeded");
}

TEST_CASE("bad compile options are refused with the flag named") {
  TempPlanPath path("bad");
  CompileOptions opt;
  opt.weights = "q5";
  auto r = compile_plan(testing::compile_input(testing::tiny_qwen2(), "tiny", 1), opt, path.str());
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message() == "unknown weight format 'q5' (expected f32, f16, q8, q4, fp8, q8_0, q4_k or q6_k)");
  opt.weights = "q4";
  opt.q4_group = 64;
  r = compile_plan(testing::compile_input(testing::tiny_qwen2(), "tiny", 1), opt, path.str());
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message() == "--q4-group must be 32 or 128, got 64");
  opt.q4_group = 32;
  opt.max_context = -5;
  r = compile_plan(testing::compile_input(testing::tiny_qwen2(), "tiny", 1), opt, path.str());
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message() == "--ctx must be between 1 and 16777216, got -5");
  CHECK_FALSE(std::filesystem::exists(path.path));
}

TEST_CASE("a NaN or infinite checkpoint weight is refused with the tensor and position, leaving no plan") {
  // Without the check a NaN became a NaN quant_nmse (a manifest its own loader refused, left at
  // the output path) or, in f32, NaN logits that sample token 0.
  for (const char* weights : {"f32", "q8", "q4"}) {
    for (const float bad : {std::numeric_limits<float>::quiet_NaN(), -std::numeric_limits<float>::infinity()}) {
      INFO(weights << " " << bad);
      TempPlanPath path("nonfinite");
      CompileInput in = testing::compile_input(testing::tiny_qwen2(), "tiny", 1);
      const WeightFn inner = in.read;
      in.read = [inner, bad](const std::string& name, int64_t numel) -> Result<std::vector<float>> {
        auto w = inner(name, numel);
        if (w.ok() && name == "model.layers.0.mlp.up_proj.weight") (*w)[w->size() / 2 + 3] = bad;
        return w;
      };
      CompileOptions opt;
      opt.weights = weights;
      auto r = compile_plan(in, opt, path.str());
      REQUIRE_FALSE(r.ok());
      const std::string msg = r.error().message();
      CHECK(msg.find("model.layers.0.mlp.up_proj.weight") != std::string::npos);
      CHECK(msg.find(std::isnan(bad) ? "a weight is NaN at row " : "a weight is infinite at row ") != std::string::npos);
      CHECK(msg.find("finite weights") != std::string::npos);
      CHECK_FALSE(std::filesystem::exists(path.path));
    }
  }
}

TEST_CASE("manifest validation rejects indices and sizes that do not fit") {
  TempPlanPath path("validate");
  CompileOptions opt;
  opt.weights = "q8";
  opt.max_context = 16;
  opt.prefill_chunk = 4;
  auto good = compile_plan(testing::compile_input(testing::tiny_llama(), "tiny", 2), opt, path.str());
  REQUIRE(good.ok());
  CHECK(plan::validate_manifest(*good).ok());

  plan::Manifest m = *good;
  REQUIRE(m.main.ops[2].kind == plan::OpKind::kLinear);
  m.main.ops[2].weights[0] = 100000;
  auto s = plan::validate_manifest(m);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().message().find("tensor index out of range") != std::string::npos);

  m = *good;
  m.main.ops[2].inputs[0].cols += 1;
  s = plan::validate_manifest(m);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().message().find("column range outside its value") != std::string::npos);

  m = *good;
  m.tensors[1].data.size -= 1;
  s = plan::validate_manifest(m);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().message().find("blob sizes do not match a") != std::string::npos);

  m = *good;
  m.memory.arena_bytes = 64;
  s = plan::validate_manifest(m);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().message().find("lies outside the activation arena") != std::string::npos);

  m = *good;
  m.tensors[0].group = 7;
  s = plan::validate_manifest(m);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().message().find("group size 7 is invalid for q8") != std::string::npos);
}

TEST_CASE("manifest validation rejects an MTP program that uses a KV cache layer of the main program") {
  // Such a plan loads and runs, but every draft overwrites the main model's cache rows of that
  // layer: silently wrong output after the first draft.
  TempPlanPath path("validate_mtp");
  CompileOptions opt;
  opt.weights = "f16";
  opt.max_context = 16;
  opt.prefill_chunk = 4;
  auto good = compile_plan(testing::compile_input(testing::tiny_deepseek_v3(), "tiny-v3", 3), opt, path.str());
  REQUIRE(good.ok());
  REQUIRE(!good->mtp.ops.empty());
  CHECK(plan::validate_manifest(*good).ok());
  int64_t main_layer = -1;
  for (const plan::Op& o : good->main.ops)
    if (o.ints.count("layer")) main_layer = o.ints.at("layer");
  REQUIRE(main_layer >= 0);
  size_t changed = 0;
  plan::Manifest m = *good;
  for (plan::Op& o : m.mtp.ops) {
    if (!o.ints.count("layer")) continue;
    CHECK(o.ints.at("layer") > main_layer);  // the MTP layer's cache comes after the main model's
    o.ints["layer"] = 0;
    ++changed;
  }
  REQUIRE(changed > 0);
  auto s = plan::validate_manifest(m);
  REQUIRE_FALSE(s.ok());
  CHECK(s.error().message().find("uses KV cache layer 0, which the main program uses") != std::string::npos);
}

}  // namespace
}  // namespace r1vk
