// Generated checkpoints of every tiny preset (tools/gen_checkpoint), through the whole stack:
// import -> compile in every weight format -> load -> Vulkan prefill + decode, compared with the
// naive CPU reference computed from the same checkpoint. The FP8 R1 preset is compiled to an
// fp8 plan whose FP8 weights must be the checkpoint's bytes, unchanged.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include "compiler/compiler.h"
#include "compiler/plan_test_util.h"
#include "exec/model.h"
#include "exec/session.h"
#include "harness/kernel_harness.h"
#include "import/import_model.h"
#include "import/import_test_util.h"
#include "plan/plan_dump.h"
#include "reference/logit_agreement.h"
#include "reference/reference_model.h"

namespace r1vk {
namespace {

std::vector<float> device_logits(const std::string& plan_path, const std::vector<int32_t>& tokens, size_t prefill) {
  auto plan = plan::LoadedPlan::open(plan_path);
  REQUIRE(plan.ok());
  auto model = exec::Model::load(test::context(), std::move(plan).value());
  REQUIRE_MESSAGE(model.ok(), (model.ok() ? std::string() : model.error().message()));
  exec::SessionOptions so;
  so.keep_logits = true;
  auto s = exec::Session::create(**model, so);
  REQUIRE(s.ok());
  std::vector<float> logits;
  REQUIRE((*s)->feed(std::span(tokens).subspan(0, prefill), {}, &logits).ok());
  for (size_t i = prefill; i < tokens.size(); ++i) REQUIRE((*s)->feed(std::span(tokens).subspan(i, 1), {}, &logits).ok());
  return logits;
}

TEST_CASE("every tiny preset compiles in every format, dumps its golden plan, and runs like the reference") {
  struct Preset {
    const char* name;
    bool fp8;
  };
  for (Preset p : {Preset{"tiny-r1", false}, Preset{"tiny-r1", true}, Preset{"tiny-v2-lite", false},
                   Preset{"tiny-qwen2", false}, Preset{"tiny-llama3", false}}) {
    const std::string label = std::string(p.name) + (p.fp8 ? "-fp8" : "");
    CAPTURE(label);
    testing::TempDir dir;
    testing::generate(dir.path(), testing::preset(p.name, p.fp8), p.fp8 ? 1 : 2);
    auto imported = import_model(dir.str());
    REQUIRE_MESSAGE(imported.ok(), (imported.ok() ? std::string() : imported.error().message()));
    const ModelConfig& c = imported->config;
    const std::vector<int32_t> tokens = {0, 7, 300, 41, 2, 260, 9, 123, 5, 77, 18};
    auto reference = ref::ReferenceModel::load(
        c, [&](const std::string& n, int64_t) { return imported->checkpoint.read_f32(n); });
    REQUIRE(reference.ok());
    auto want = reference->forward(tokens);
    REQUIRE(want.ok());

    for (const char* format : {"f32", "f16", "q8", "q4", "fp8"}) {
      CAPTURE(format);
      testing::TempPlanPath path(label + "_" + format);
      CompileOptions opt;
      opt.weights = format;
      opt.max_context = 32;
      opt.prefill_chunk = 8;
      auto m = compile_checkpoint(dir.str(), opt, path.str());
      REQUIRE_MESSAGE(m.ok(), (m.ok() ? std::string() : m.error().message()));
      auto loaded = plan::LoadedPlan::open(path.str());
      REQUIRE(loaded.ok());
      if (std::string(format) == "q4" && !p.fp8) {
        plan::Manifest named = loaded->manifest();
        named.model_name = label;  // the checkpoint lives in a temporary directory with a varying name
        const std::string text = plan::dump_plan(named);
        CHECK(text == testing::golden("plan_dumps/preset_" + label + ".txt", text));
      }
      // Device runs for the formats whose agreement with the reference is part of the contract.
      const bool exact_weights = std::string(format) == "f32" || std::string(format) == "f16" ||
                                 (p.fp8 && std::string(format) == "fp8");
      if (!exact_weights) continue;
      const auto a = testing::compare_logits(*want, device_logits(path.str(), tokens, 6), c.vocab_size);
      std::printf("%s %s on Vulkan vs reference: min cosine %.6f, argmax %.3f\n", label.c_str(), format, a.min_cosine,
                  a.argmax_match);
      CHECK(a.min_cosine > 0.999);
      CHECK(a.argmax_match >= 0.99);
    }
  }
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("an fp8 plan keeps an FP8 checkpoint's weights and block scales bit for bit") {
  testing::TempDir dir;
  testing::generate(dir.path(), testing::preset("tiny-r1", true));
  testing::TempPlanPath path("fp8_passthrough");
  CompileOptions opt;
  opt.weights = "fp8";
  opt.max_context = 16;
  auto m = compile_checkpoint(dir.str(), opt, path.str());
  REQUIRE(m.ok());
  auto imported = import_model(dir.str());
  REQUIRE(imported.ok());
  auto plan = plan::LoadedPlan::open(path.str());
  REQUIRE(plan.ok());
  const auto& tensors = plan->manifest().tensors;
  int checked = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    if (tensors[i].name != "layers.0.attn.q_a" && tensors[i].name != "layers.1.attn.o") continue;
    const std::string src = tensors[i].name == "layers.0.attn.q_a" ? "model.layers.0.self_attn.q_a_proj.weight"
                                                                   : "model.layers.1.self_attn.o_proj.weight";
    auto ref = imported->checkpoint.tensor(src);
    REQUIRE(ref.ok());
    auto bytes = plan->tensor_bytes(i);
    REQUIRE(bytes.ok());
    CHECK(tensors[i].format == WeightFormat::kFp8);
    CHECK(tensors[i].quant_nmse == 0.0);
    REQUIRE(bytes->data.size() == ref->bytes.size());
    CHECK(std::equal(bytes->data.begin(), bytes->data.end(), ref->bytes.begin()));
    auto scales = imported->checkpoint.read_f32(src + "_scale_inv");
    REQUIRE(scales.ok());
    REQUIRE(bytes->scales.size() == scales->size() * 4);
    CHECK(std::memcmp(bytes->scales.data(), scales->data(), bytes->scales.size()) == 0);
    ++checked;
  }
  CHECK(checked == 2);
}

}  // namespace
}  // namespace r1vk
