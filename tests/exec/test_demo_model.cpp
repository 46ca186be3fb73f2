// The bundled demo model (models/r1vk-demo, trained with tools/demo_model in PyTorch) against
// golden logits that the PyTorch implementation computed from the exported bf16 weights in f32
// (tests/data/demo_logits/golden.json). This is the check against an independent implementation:
// the CPU reference forward pass (naive MLA, MoE, MTP) and the Vulkan runtime in every weight
// format must reproduce them.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <cstdlib>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <vector>

#include "base/json_util.h"
#include "compiler/compiler.h"
#include "compiler/plan_test_util.h"
#include "exec/model.h"
#include "exec/session.h"
#include "harness/kernel_harness.h"
#include "import/import_model.h"
#include "reference/logit_agreement.h"
#include "reference/reference_model.h"

namespace r1vk {
namespace {

namespace fs = std::filesystem;

fs::path source_dir() {
  const char* s = std::getenv("R1VK_SOURCE_DIR");
  return s ? fs::path(s) : fs::path(".");
}

struct Golden {
  std::vector<int32_t> tokens;
  int64_t prompt_length = 0;
  int64_t vocab = 0;
  std::vector<float> main_logits;  // [tokens, vocab]
  std::vector<float> mtp_logits;   // [tokens - 1, vocab]
  std::vector<int32_t> greedy;     // continuation after the prompt
};

std::vector<float> read_f32(const fs::path& p) {
  std::ifstream f(p, std::ios::binary);
  std::vector<char> bytes((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
  std::vector<float> v(bytes.size() / 4);
  std::memcpy(v.data(), bytes.data(), v.size() * 4);
  return v;
}

const Golden& golden() {
  static const Golden g = [] {
    Golden out;
    const fs::path dir = source_dir() / "tests/data/demo_logits";
    std::ifstream f(dir / "golden.json");
    const std::string text((std::istreambuf_iterator<char>(f)), std::istreambuf_iterator<char>());
    auto j = parse_json(text, "golden.json");
    REQUIRE(j.ok());
    out.tokens = (*j)["tokens"].get<std::vector<int32_t>>();
    out.prompt_length = (*j)["prompt_length"].get<int64_t>();
    out.vocab = (*j)["vocab_size"].get<int64_t>();
    out.greedy = (*j)["greedy_continuation"].get<std::vector<int32_t>>();
    out.main_logits = read_f32(dir / (*j)["main_logits"]["file"].get<std::string>());
    out.mtp_logits = read_f32(dir / (*j)["mtp_logits"]["file"].get<std::string>());
    REQUIRE(out.main_logits.size() == out.tokens.size() * static_cast<size_t>(out.vocab));
    REQUIRE(out.mtp_logits.size() == (out.tokens.size() - 1) * static_cast<size_t>(out.vocab));
    return out;
  }();
  return g;
}

const std::string kDemo = "models/r1vk-demo";

TEST_CASE("the CPU reference reproduces PyTorch's logits and MTP drafts of the demo model") {
  const Golden& g = golden();
  auto imported = import_model((source_dir() / kDemo).string());
  REQUIRE_MESSAGE(imported.ok(), (imported.ok() ? std::string() : imported.error().message()));
  const Checkpoint& ck = imported->checkpoint;
  WeightFn read = [&ck](const std::string& name, int64_t) { return ck.read_f32(name); };
  auto model = ref::ReferenceModel::load(imported->config, read);
  REQUIRE_MESSAGE(model.ok(), (model.ok() ? std::string() : model.error().message()));
  auto logits = model->forward(g.tokens);
  REQUIRE(logits.ok());
  const testing::LogitAgreement m = testing::compare_logits(g.main_logits, *logits, g.vocab);
  auto drafts = model->mtp_forward(g.tokens);
  REQUIRE(drafts.ok());
  const testing::LogitAgreement d = testing::compare_logits(g.mtp_logits, *drafts, g.vocab);
  std::printf("reference vs PyTorch: main cos %.7f argmax %.3f max|d| %.2e; MTP cos %.7f argmax %.3f\n", m.min_cosine,
              m.argmax_match, m.max_abs, d.min_cosine, d.argmax_match);
  CHECK(m.min_cosine > 0.99999);
  CHECK(m.argmax_match == 1.0);
  CHECK(d.min_cosine > 0.99999);
  CHECK(d.argmax_match == 1.0);
}

TEST_CASE("the Vulkan runtime reproduces PyTorch's logits and greedy answer in every weight format") {
  const Golden& g = golden();
  // Bounds per format against PyTorch's f32 math on the bf16 weights: f32 holds those weights
  // exactly and f16 nearly so (cosine >= 0.999 at every position, same argmax, same greedy
  // answer); q8 and fp8 measured 0.9995 / 0.9945 worst-position cosine with every argmax equal
  // on the v2 weights, 0.9978 / 0.908 on the v3 weights (2026-12-06; fp8's mean 0.9988, every
  // argmax and the greedy answer equal: e4m3's 3 mantissa bits on one near-flat position).
  // q4 on a hidden size of 128 (4 groups of 32 per row) is coarse: its worst position measured
  // 0.54 on a near-tie, so q4 is held to its mean cosine and argmax agreement instead.
  struct Case {
    const char* format;
    double min_cos, mean_cos, min_argmax;
    bool greedy_exact;
  };
  for (Case k : {Case{"f32", 0.9999, 0.9999, 1.0, true}, Case{"f16", 0.999, 0.9999, 0.99, true},
                 Case{"q8", 0.995, 0.999, 0.97, false}, Case{"fp8", 0.9, 0.995, 0.95, false},
                 Case{"q4", 0.0, 0.95, 0.95, false}}) {
    CAPTURE(k.format);
    testing::TempPlanPath path(std::string("demo_") + k.format);
    CompileOptions opt;
    opt.weights = k.format;
    opt.max_context = 256;
    opt.prefill_chunk = 32;
    auto m = compile_checkpoint((source_dir() / kDemo).string(), opt, path.str());
    REQUIRE_MESSAGE(m.ok(), (m.ok() ? std::string() : m.error().message()));
    auto plan = plan::LoadedPlan::open(path.str());
    REQUIRE(plan.ok());
    auto model = exec::Model::load(test::context(), std::move(plan).value());
    REQUIRE(model.ok());
    exec::SessionOptions so;
    so.keep_logits = true;
    auto session = exec::Session::create(**model, so);
    REQUIRE(session.ok());
    std::vector<float> logits;
    const auto tokens = std::span(g.tokens);
    REQUIRE((*session)->feed(tokens.subspan(0, static_cast<size_t>(g.prompt_length)), {}, &logits).ok());
    for (size_t i = static_cast<size_t>(g.prompt_length); i < tokens.size(); ++i) {
      REQUIRE((*session)->feed(tokens.subspan(i, 1), {}, &logits).ok());
    }
    const testing::LogitAgreement a = testing::compare_logits(g.main_logits, logits, g.vocab);

    // Greedy generation from the prompt alone, on the device's sampler.
    auto gen = exec::Session::create(**model);
    REQUIRE(gen.ok());
    REQUIRE((*gen)->feed(tokens.subspan(0, static_cast<size_t>(g.prompt_length)), {}).ok());
    std::vector<int32_t> produced = {(*gen)->last_token()};
    while (produced.size() < g.greedy.size() && produced.back() != 1) {
      auto t = (*gen)->step({});
      REQUIRE(t.ok());
      produced.push_back(*t);
    }
    const bool same_answer = produced == g.greedy;
    std::printf("demo %s: cos min %.6f mean %.6f argmax %.3f max|d| %.3g, greedy continuation %s\n", k.format,
                a.min_cosine, a.mean_cosine, a.argmax_match, a.max_abs, same_answer ? "identical" : "differs");
    CHECK(a.min_cosine >= k.min_cos);
    CHECK(a.mean_cosine > k.mean_cos);
    CHECK(a.argmax_match >= k.min_argmax);
    if (k.greedy_exact) CHECK(same_answer);
  }
  CHECK(test::validation_errors() == 0);
}

}  // namespace
}  // namespace r1vk
