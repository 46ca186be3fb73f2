// GGUF files of every architecture, written by the test tools' converter with llama.cpp's
// conventions, import to the same model as the Hugging Face checkpoint they came from: the same
// ModelConfig, bit-identical f16 plan weights and equal logits from the plan interpreter.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <filesystem>

#include "compiler/compiler.h"
#include "compiler/plan_test_util.h"
#include "gguf_writer.h"
#include "import/gguf_import.h"
#include "import/import_model.h"
#include "import/import_test_util.h"

namespace r1vk {
namespace {

namespace fs = std::filesystem;

struct Case {
  const char* preset;
  bool split_kv_b;
  int64_t splits;
};

std::vector<float> plan_logits(const std::string& path, const std::vector<int32_t>& tokens) {
  auto loaded = plan::LoadedPlan::open(path);
  REQUIRE_MESSAGE(loaded.ok(), loaded.error().message());
  auto model = testing::interpreter_model(*loaded);
  REQUIRE(model.ok());
  ref::ProgramInterpreter interp(*model);
  auto logits = interp.run(loaded->manifest().main, tokens, 0);
  REQUIRE_MESSAGE(logits.ok(), logits.error().message());
  return *logits;
}

TEST_CASE("F16 GGUF of every architecture compiles to the same plan and logits as its safetensors checkpoint") {
  for (const Case& c : {Case{"tiny-r1", true, 1}, Case{"tiny-v2-lite", false, 1}, Case{"tiny-qwen2", true, 2},
                        Case{"tiny-llama3", true, 1}}) {
    const std::string preset = c.preset;
    CAPTURE(preset);
    testing::TempDir dir;
    const fs::path ck = dir.path() / "ck";
    testing::generate(ck, testing::preset(c.preset));
    const std::string gguf = (dir.path() / (c.splits > 1 ? "model-00001-of-00002.gguf" : "model.gguf")).string();
    gen::GgufConvertOptions o;
    o.split_kv_b = c.split_kv_b;
    o.splits = c.splits;
    const Status conv = gen::convert_checkpoint_to_gguf(ck.string(), gguf, o);
    REQUIRE_MESSAGE(conv.ok(), conv.error().message());

    auto hf = import_model(ck.string());
    REQUIRE(hf.ok());
    auto im = import_gguf(gguf);
    REQUIRE_MESSAGE(im.ok(), im.error().message());
    const ModelConfig& a = hf->config;
    const ModelConfig& b = im->config();
    CHECK(b.arch == a.arch);
    CHECK(b.vocab_size == a.vocab_size);
    CHECK(b.hidden_size == a.hidden_size);
    CHECK(b.num_hidden_layers == a.num_hidden_layers);
    CHECK(b.num_key_value_heads == a.num_key_value_heads);
    CHECK(b.head_dim == a.head_dim);
    CHECK(b.tie_word_embeddings == a.tie_word_embeddings);
    CHECK(b.mla.q_lora_rank == a.mla.q_lora_rank);
    CHECK(b.mla.qk_nope_head_dim == a.mla.qk_nope_head_dim);
    CHECK(b.mla.v_head_dim == a.mla.v_head_dim);
    CHECK(b.moe.n_routed_experts == a.moe.n_routed_experts);
    CHECK(b.moe.first_k_dense_replace == a.moe.first_k_dense_replace);
    CHECK(b.moe.topk_method == a.moe.topk_method);
    CHECK(b.moe.norm_topk_prob == a.moe.norm_topk_prob);
    CHECK(b.moe.routed_scaling_factor == doctest::Approx(a.moe.routed_scaling_factor));
    CHECK(b.rope_scaling.type == a.rope_scaling.type);
    CHECK(b.rope_theta == doctest::Approx(a.rope_theta));
    CHECK(b.bos_token_id == a.bos_token_id);
    CHECK(b.eos_token_id == a.eos_token_id);
    CHECK_FALSE(im->tokenizer.tokenizer_json.empty());

    CompileOptions opt;
    opt.weights = "f16";
    opt.max_context = 32;
    opt.prefill_chunk = 8;
    testing::TempPlanPath pa("gguf_ref");
    testing::TempPlanPath pb("gguf");
    auto ma = compile_checkpoint(ck.string(), opt, pa.str());
    REQUIRE_MESSAGE(ma.ok(), ma.error().message());
    auto mb = compile_checkpoint(gguf, opt, pb.str());
    REQUIRE_MESSAGE(mb.ok(), mb.error().message());
    REQUIRE(ma->tensors.size() == mb->tensors.size());
    auto la = plan::LoadedPlan::open(pa.str());
    auto lb = plan::LoadedPlan::open(pb.str());
    REQUIRE(la.ok());
    REQUIRE(lb.ok());
    for (size_t t = 0; t < ma->tensors.size(); ++t) {
      CAPTURE(ma->tensors[t].name);
      CHECK(ma->tensors[t].name == mb->tensors[t].name);
      auto ta = la->tensor_bytes(t);
      auto tb = lb->tensor_bytes(t);
      REQUIRE((ta.ok() && tb.ok()));
      CHECK(std::equal(ta->data.begin(), ta->data.end(), tb->data.begin(), tb->data.end()));
    }
    const std::vector<int32_t> tokens = {1, 5, 17, 3, 42, 7};
    const auto ya = plan_logits(pa.str(), tokens);
    const auto yb = plan_logits(pb.str(), tokens);
    REQUIRE(ya.size() == yb.size());
    double worst = 0;
    for (size_t k = 0; k < ya.size(); ++k) worst = std::max(worst, static_cast<double>(std::fabs(ya[k] - yb[k])));
    MESSAGE(preset << ": max |logit difference| " << worst);
    // llama3 frequencies come from the f32 rope_freqs tensor instead of the formula in double.
    CHECK(worst <= (a.arch == Architecture::kLlama ? 1e-4 : 0.0));
  }
}

TEST_CASE("a Q8_0 GGUF imports with its quantisation error and compiles") {
  testing::TempDir dir;
  const fs::path ck = dir.path() / "ck";
  testing::generate(ck, testing::preset("tiny-qwen2"));
  const std::string gguf = (dir.path() / "q8.gguf").string();
  gen::GgufConvertOptions o;
  o.weight_type = GgmlType::kQ8_0;
  REQUIRE(gen::convert_checkpoint_to_gguf(ck.string(), gguf, o).ok());
  auto hf = import_model(ck.string());
  auto im = import_gguf(gguf);
  REQUIRE_MESSAGE(im.ok(), im.error().message());
  // Every weight read back is the original up to Q8_0 rounding (half a step of max|x|/127).
  for (const char* name : {"model.layers.0.self_attn.q_proj.weight", "model.layers.1.mlp.down_proj.weight"}) {
    auto x = hf->checkpoint.read_f32(name);
    auto y = im->weights->read(name);
    REQUIRE((x.ok() && y.ok()));
    REQUIRE(x->size() == y->size());
    double err = 0, ref = 0;
    for (size_t k = 0; k < x->size(); ++k) {
      err += ((*x)[k] - (*y)[k]) * ((*x)[k] - (*y)[k]);
      ref += (*x)[k] * (*x)[k];
    }
    MESSAGE(std::string(name) << ": Q8_0 normalised MSE " << err / ref);
    CHECK(err / ref < 1e-3);
    CHECK(err > 0);
  }
  // --weights auto keeps Q8_0 tensors in their blocks (q8_0) and F16 ones as f16 (below);
  // test_gguf_native.cpp checks the logits.
  auto count = [](const plan::Manifest& m, WeightFormat f) {
    return std::count_if(m.tensors.begin(), m.tensors.end(), [f](const plan::TensorEntry& t) { return t.format == f; });
  };
  testing::TempPlanPath p("gguf_q8");
  CompileOptions opt;
  opt.weights = "auto";
  opt.max_context = 32;
  auto m = compile_checkpoint(gguf, opt, p.str());
  REQUIRE_MESSAGE(m.ok(), m.error().message());
  CHECK(count(*m, WeightFormat::kQ8_0) > 0);
  const std::string f16 = (dir.path() / "f16.gguf").string();
  REQUIRE(gen::convert_checkpoint_to_gguf(ck.string(), f16, gen::GgufConvertOptions{}).ok());
  testing::TempPlanPath p16("gguf_f16_auto");
  auto m16 = compile_checkpoint(f16, opt, p16.str());
  REQUIRE_MESSAGE(m16.ok(), m16.error().message());
  // (The Q8_0 file keeps rows that are not whole blocks of 32 in F16, as llama.cpp does.)
  CHECK(count(*m16, WeightFormat::kF16) > count(*m, WeightFormat::kF16));
  CHECK(count(*m16, WeightFormat::kQ8_0) == 0);
  // Float embeddings and head stay f16 (docs/gguf.md), not the q8 floor of requantised ones.
  for (const plan::TensorEntry& t : m16->tensors) {
    if (t.name.find("embed") != std::string::npos || t.name.find("lm_head") != std::string::npos) {
      INFO(t.name);
      CHECK(t.format == WeightFormat::kF16);
    }
  }
}

}  // namespace
}  // namespace r1vk
