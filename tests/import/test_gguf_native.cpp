// GGUF files whose weights stay in their blocks (plan formats q8_0 / q4_k / q6_k, docs/gguf.md):
// the test writer quantises tiny checkpoints to Q4_K, Q6_K (Q8_0 where rows are not whole
// 256-blocks), Q8_0 (tiny-r1: its routed experts too) and the Q4_K_M mix; `--weights auto` keeps
// those tensors as stored; the plan is about the GGUF's size; and its logits equal those of the
// same file compiled to f32 (the dequantised values):
//   - plan interpreter (CPU, unpack_weight = ggml's dequantisation): exactly equal;
//   - Vulkan (lavapipe): the kernels decode the same values and differ only in f32 summation
//     order (chunk scales factored out of 32-weight sums): min cosine > 0.99999, same argmax,
//     max |difference| below 1e-3 of the largest |logit|.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>

#include "compiler/compiler.h"
#include "compiler/plan_test_util.h"
#include "exec/model.h"
#include "exec/session.h"
#include "gguf_writer.h"
#include "harness/kernel_harness.h"
#include "import/gguf_import.h"
#include "import/import_test_util.h"
#include "reference/logit_agreement.h"
#include "reference/program_interpreter.h"

namespace r1vk {
namespace {

namespace fs = std::filesystem;

std::vector<float> interpreter_logits(const std::string& path, const std::vector<int32_t>& tokens) {
  auto loaded = plan::LoadedPlan::open(path);
  REQUIRE_MESSAGE(loaded.ok(), loaded.error().message());
  auto model = testing::interpreter_model(*loaded);
  REQUIRE(model.ok());
  ref::ProgramInterpreter interp(*model);
  auto logits = interp.run(loaded->manifest().main, tokens, 0);
  REQUIRE_MESSAGE(logits.ok(), logits.error().message());
  return *logits;
}

// Prefill of the first `prefill` tokens, then one decode step per token (GEMM and GEMV kernels).
std::vector<float> device_logits(const std::string& path, const std::vector<int32_t>& tokens, size_t prefill) {
  auto plan = plan::LoadedPlan::open(path);
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

int64_t count(const plan::Manifest& m, WeightFormat f) {
  return std::count_if(m.tensors.begin(), m.tensors.end(), [f](const plan::TensorEntry& t) { return t.format == f; });
}

struct Compiled {
  testing::TempPlanPath native_path, f32_path;
  plan::Manifest native, dequant;
  int64_t vocab = 0;
  uint64_t gguf_bytes = 0;
};

// Writes the preset as a GGUF of `type` and compiles it twice: --weights auto (blocks kept) and
// --weights f32 (every tensor dequantised).
void compile_both(const char* preset, GgmlType type, bool q4_k_m, Compiled& out) {
  testing::TempDir dir;
  const fs::path ck = dir.path() / "ck";
  testing::generate(ck, testing::preset(preset));
  const std::string gguf = (dir.path() / "model.gguf").string();
  gen::GgufConvertOptions o;
  o.weight_type = type;
  o.q4_k_m = q4_k_m;
  const Status conv = gen::convert_checkpoint_to_gguf(ck.string(), gguf, o);
  REQUIRE_MESSAGE(conv.ok(), conv.error().message());
  CompileOptions opt;
  opt.max_context = 32;
  opt.prefill_chunk = 8;
  opt.weights = "auto";
  auto native = compile_checkpoint(gguf, opt, out.native_path.str());
  REQUIRE_MESSAGE(native.ok(), native.error().message());
  opt.weights = "f32";
  auto dequant = compile_checkpoint(gguf, opt, out.f32_path.str());
  REQUIRE_MESSAGE(dequant.ok(), dequant.error().message());
  out.native = std::move(native).value();
  out.dequant = std::move(dequant).value();
  auto im = import_gguf(gguf);
  REQUIRE(im.ok());
  out.vocab = im->config().vocab_size;
  for (const std::string& name : im->files->tensor_names()) out.gguf_bytes += im->files->find(name)->bytes;
}

const std::vector<int32_t> kTokens = {1, 5, 17, 3, 42, 7, 260, 9};

testing::LogitAgreement device_agreement(const Compiled& c, double& largest) {
  const auto da = device_logits(c.f32_path.str(), kTokens, 5);
  const auto db = device_logits(c.native_path.str(), kTokens, 5);
  largest = 0;
  for (float v : da) largest = std::max(largest, static_cast<double>(std::fabs(v)));
  return testing::compare_logits(da, db, c.vocab);
}

TEST_CASE("Q4_K, Q6_K and Q8_0 GGUF files run in their blocks with the logits of their dequantised weights") {
  struct Case {
    const char* preset;
    GgmlType type;
    WeightFormat format;
  };
  // tiny-llama3: 256-wide q/k/v/o/gate/up in Q4_K or Q6_K, ffn_down (448 columns) in Q8_0;
  // tiny-r1: every 2-D weight in Q8_0, routed experts included.
  for (const Case& c : {Case{"tiny-llama3", GgmlType::kQ4_K, WeightFormat::kQ4K},
                        Case{"tiny-llama3", GgmlType::kQ6_K, WeightFormat::kQ6K},
                        Case{"tiny-r1", GgmlType::kQ8_0, WeightFormat::kQ8_0}}) {
    const std::string label = std::string(c.preset) + "/" + weight_format_name(c.format);
    CAPTURE(label);
    Compiled p{testing::TempPlanPath("native"), testing::TempPlanPath("dequant"), {}, {}, 0, 0};
    compile_both(c.preset, c.type, false, p);
    CHECK(count(p.native, c.format) > 0);
    bool expert_kept = false;
    for (const auto& t : p.native.tensors) {
      if (t.name.find(".experts.") != std::string::npos && t.format == WeightFormat::kQ8_0) expert_kept = true;
      if (is_ggml_block_format(t.format)) CHECK(t.quant_nmse == 0.0);
    }
    if (c.format == WeightFormat::kQ8_0) CHECK(expert_kept);

    // Size: the plan's weights are the GGUF's tensor data (MLA absorption re-packs kv_b in tiny-r1).
    const double ratio = static_cast<double>(p.native.memory.weight_bytes) / static_cast<double>(p.gguf_bytes);
    MESSAGE(label << ": plan weights " << p.native.memory.weight_bytes << " bytes, GGUF tensors " << p.gguf_bytes
                  << " bytes (ratio " << ratio << "); f32 plan " << p.dequant.memory.weight_bytes);
    CHECK(ratio > 0.95);
    CHECK(ratio < 1.3);

    // The plan interpreter computes with unpack_weight's values: exactly the dequantised weights.
    CHECK(interpreter_logits(p.f32_path.str(), kTokens) == interpreter_logits(p.native_path.str(), kTokens));

    double largest = 0;
    const auto agree = device_agreement(p, largest);
    MESSAGE(label << " on Vulkan, native vs f32 plan: min cosine " << agree.min_cosine << ", argmax " << agree.argmax_match
                  << ", max |diff| " << agree.max_abs << " (largest |logit| " << largest << ")");
    CHECK(agree.all_finite);
    CHECK(agree.min_cosine > 0.99999);
    CHECK(agree.argmax_match == 1.0);
    CHECK(agree.max_abs < 1e-3 * largest);
  }
  CHECK(test::validation_errors() == 0);
}

// The Q4_K_M mix: attn_v and output in Q6_K, the rest Q4_K. r1vk fuses q|k|v into one matrix, so
// that tensor mixes formats; it is converted to q8 (the most precise of its parts' conversion
// targets, never q4, which would re-round attn_v's 6 bits) and its error is reported. The plan
// stays about the file's size and its logits close to the dequantised ones.
TEST_CASE("a Q4_K_M GGUF keeps its Q4_K and Q6_K tensors and converts mixed fused ones to q8") {
  Compiled p{testing::TempPlanPath("native_m"), testing::TempPlanPath("dequant_m"), {}, {}, 0, 0};
  compile_both("tiny-llama3", GgmlType::kQ4_K, true, p);
  CHECK(count(p.native, WeightFormat::kQ4K) > 0);
  CHECK(count(p.native, WeightFormat::kQ6K) > 0);   // output
  CHECK(count(p.native, WeightFormat::kQ8_0) > 0);  // ffn_down: 448 columns are not whole 256-blocks
  int fused = 0;
  for (const auto& t : p.native.tensors) {
    if (t.name.find("attn.qkv") == std::string::npos) continue;
    ++fused;
    CHECK(t.format == WeightFormat::kQ8);
    CHECK(t.quant_nmse > 0.0);
    CHECK(t.quant_nmse < 1e-4);
  }
  CHECK(fused > 0);
  const double ratio = static_cast<double>(p.native.memory.weight_bytes) / static_cast<double>(p.gguf_bytes);
  MESSAGE("Q4_K_M: plan weights " << p.native.memory.weight_bytes << " bytes, GGUF tensors " << p.gguf_bytes << " (ratio "
                                  << ratio << ")");
  CHECK(ratio > 0.95);
  CHECK(ratio < 1.2);
  double largest = 0;
  const auto agree = device_agreement(p, largest);
  MESSAGE("Q4_K_M on Vulkan, native vs f32 plan: min cosine " << agree.min_cosine << ", argmax " << agree.argmax_match
                                                              << ", max |diff| " << agree.max_abs);
  CHECK(agree.min_cosine > 0.9999);
  CHECK(agree.argmax_match >= 0.875);
  CHECK(test::validation_errors() == 0);
}

}  // namespace
}  // namespace r1vk
