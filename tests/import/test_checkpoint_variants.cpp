// Checkpoints as they are published, built from the generator's complete tiny-r1 FP8 checkpoint
// by deleting, copying or re-encoding tensors and editing JSON: the MTP layer stripped
// (transformers ignores it), the MTP layer without its own embed_tokens / shared_head.head
// (DeepSeek's README_WEIGHTS: they are the main model's), a projection in FP8 where BF16 was
// expected, config metadata that does not fit. Each must import, and its logits (import ->
// graph -> CPU interpreter, f32 weights) must equal bit for bit those of the checkpoint it
// stands for.
#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>
#include <cstring>
#include <span>

#include "base/numeric_formats.h"
#include "compiler/compiler.h"
#include "compiler/weight_materializer.h"
#include "graph/graph_builder.h"
#include "import/import_model.h"
#include "import/import_test_util.h"
#include "plan/loaded_plan.h"
#include "reference/program_interpreter.h"
#include "text/tokenizer.h"
#include "tokenizer_writer.h"

namespace r1vk {
namespace {

namespace fs = std::filesystem;
using testing::RawTensor;
using testing::RawTensors;

const std::vector<int32_t> kTokens = {5, 17, 0, 42, 9, 33, 1, 7, 64, 12, 3, 50};
const std::string kMtp = "model.layers.3.";  // tiny-r1 has 3 main layers
const std::string kEhProj = kMtp + "eh_proj.weight";

const fs::path& complete() {
  static testing::TempDir dir;
  static const bool made = (testing::generate(dir.path(), testing::preset("tiny-r1", true), 1, 9), true);
  (void)made;
  return dir.path();
}

// A copy of the complete checkpoint, its tensors edited by `edit`.
void make_variant(const testing::TempDir& dir, const std::function<void(RawTensors&)>& edit) {
  fs::copy(complete(), dir.path(), fs::copy_options::recursive);
  RawTensors tensors = testing::read_tensors(dir.path() / "model.safetensors");
  edit(tensors);
  testing::write_tensors(dir.path() / "model.safetensors", tensors);
}

void strip_prefix(RawTensors& tensors, const std::string& prefix) {
  const size_t before = tensors.size();
  std::erase_if(tensors, [&](const auto& t) { return t.first.rfind(prefix, 0) == 0; });
  REQUIRE(tensors.size() < before);
}

struct Outputs {
  std::vector<float> logits;  // main program, [T, vocab]
  std::vector<float> drafts;  // MTP program, [T-1, vocab]; empty when the plan has none
  size_t plan_tensors = 0;
  ModelConfig config;
  int64_t declared_mtp = 0;
  std::vector<std::string> warnings;
};

Outputs run(const fs::path& dir) {
  auto model = import_model(dir.string());
  if (!model.ok()) FAIL(model.error().message());
  auto graph = build_model_graph(model->config);
  REQUIRE(graph.ok());
  const Checkpoint& ck = model->checkpoint;
  const WeightFn read = [&ck](const std::string& name, int64_t numel) -> Result<std::vector<float>> {
    R1VK_ASSIGN_OR_RETURN(auto v, ck.read_f32(name));
    if (static_cast<int64_t>(v.size()) != numel) return make_error(ErrorCode::kCorruptData, name + ": wrong size");
    return v;
  };
  ref::InterpreterModel im;
  for (const WeightSpec& spec : graph->weights) {
    auto packed = materialize_weight(spec, read, {WeightFormat::kF32, 32});
    REQUIRE_MESSAGE(packed.ok(), spec.name);
    im.weights.push_back(unpack_weight(*packed));
  }
  im.rope_freqs = graph->rope_freqs;
  im.rope_magnitude = graph->rope_magnitude;
  im.kv_layers = graph->kv_layers;
  im.kv_width = graph->kv_width;
  im.max_context = 64;
  ref::ProgramInterpreter interp(im);
  Outputs out;
  std::vector<float> hidden;
  auto logits = interp.run(graph->main, kTokens, 0, {}, &hidden);
  REQUIRE(logits.ok());
  out.logits = std::move(logits).value();
  if (!graph->mtp.ops.empty()) {
    // Row i pairs the main hidden state at i with token i+1 (as test_program_vs_reference).
    const std::span<const int32_t> next(kTokens.data() + 1, kTokens.size() - 1);
    hidden.resize(next.size() * static_cast<size_t>(model->config.hidden_size));
    auto drafts = interp.run(graph->mtp, next, 0, hidden);
    REQUIRE(drafts.ok());
    out.drafts = std::move(drafts).value();
  }
  out.plan_tensors = graph->weights.size();
  out.config = model->config;
  out.declared_mtp = model->declared_mtp_layers;
  out.warnings = model->warnings;
  return out;
}

const Outputs& complete_outputs() {
  static const Outputs out = run(complete());
  return out;
}

bool any_contains(const std::vector<std::string>& lines, const std::string& text) {
  return std::any_of(lines.begin(), lines.end(), [&](const std::string& l) { return l.find(text) != std::string::npos; });
}

TEST_CASE("the complete checkpoint has main and MTP outputs and no warnings") {
  const Outputs& c = complete_outputs();
  CHECK(c.logits.size() == kTokens.size() * 613);
  CHECK(c.drafts.size() == (kTokens.size() - 1) * 613);
  CHECK(c.warnings.empty());
  CHECK(c.config.num_nextn_predict_layers == 1);
  CHECK_FALSE(c.config.mtp_shares_embedding);
}

TEST_CASE("MTP layer stripped: the main model imports with one warning, same logits, no MTP program") {
  testing::TempDir dir;
  make_variant(dir, [](RawTensors& t) { strip_prefix(t, kMtp); });
  const Outputs v = run(dir.path());
  CHECK(v.config.num_nextn_predict_layers == 0);
  CHECK(v.declared_mtp == 1);
  REQUIRE(v.warnings.size() == 1);
  CHECK(v.warnings[0].find("holds no tensors of layer 3 (model.layers.3.*): multi-token prediction (MTP) is unavailable") !=
        std::string::npos);
  CHECK(v.logits == complete_outputs().logits);
  CHECK(v.drafts.empty());

  // The plan records the absence: an MTP program without ops, no MTP arena, no MTP cache layer.
  // compile_checkpoint passes the warning on exactly once.
  std::vector<std::string> seen;
  CompileOptions options;
  options.weights = "f16";
  options.max_context = 64;
  options.warn = [&seen](const std::string& w) { seen.push_back(w); };
  const std::string plan_path = (dir.path() / "stripped.r1vk").string();
  auto manifest = compile_checkpoint(dir.str(), options, plan_path);
  if (!manifest.ok()) FAIL(manifest.error().message());
  CHECK(seen == v.warnings);
  auto loaded = plan::LoadedPlan::open(plan_path);
  REQUIRE(loaded.ok());
  CHECK(loaded->manifest().mtp.ops.empty());
  CHECK(loaded->manifest().memory.mtp_arena_bytes == 0);
  CHECK(loaded->manifest().memory.kv_layers == 3);
}

TEST_CASE("an incomplete MTP layer is ignored with a warning naming what it lacks") {
  testing::TempDir dir;
  make_variant(dir, [](RawTensors& t) { strip_prefix(t, kMtp + "mlp.experts."); });
  const Outputs v = run(dir.path());
  CHECK(v.config.num_nextn_predict_layers == 0);
  REQUIRE(v.warnings.size() == 1);
  CHECK(v.warnings[0].find("MTP layer 3 is incomplete (no tensor 'model.layers.3.mlp.experts.0.gate_proj.weight' and 23 more)") !=
        std::string::npos);
  CHECK(v.logits == complete_outputs().logits);
  CHECK(v.drafts.empty());
}

TEST_CASE("a second declared MTP layer that is absent: the first is used, with a warning") {
  testing::TempDir dir;
  make_variant(dir, [](RawTensors&) {});
  testing::edit_json_file(dir.path() / "config.json", [](nlohmann::json& j) { j["num_nextn_predict_layers"] = 2; });
  const Outputs v = run(dir.path());
  CHECK(v.config.num_nextn_predict_layers == 1);
  CHECK(v.declared_mtp == 2);
  REQUIRE(v.warnings.size() == 1);
  CHECK(v.warnings[0].find("declares 2 MTP layers but the checkpoint holds no tensors of layer 4") != std::string::npos);
  CHECK(v.logits == complete_outputs().logits);
  CHECK(v.drafts == complete_outputs().drafts);
}

TEST_CASE("MTP layer without its own embed_tokens / shared_head.head: the main model's are used") {
  // What the shared layer stands for: the MTP copies replaced by the main embedding and head.
  testing::TempDir copies_dir;
  make_variant(copies_dir, [](RawTensors& t) {
    t[kMtp + "embed_tokens.weight"] = t.at("model.embed_tokens.weight");
    t[kMtp + "shared_head.head.weight"] = t.at("lm_head.weight");
  });
  const Outputs copies = run(copies_dir.path());
  CHECK(copies.logits == complete_outputs().logits);
  CHECK(copies.drafts != complete_outputs().drafts);  // the generator's MTP copies differ: the test can tell

  struct Case {
    const char* name;
    bool drop_embed, drop_head;
  };
  for (const Case& k : {Case{"both", true, true}, Case{"embedding", true, false}, Case{"head", false, true}}) {
    CAPTURE(k.name);
    testing::TempDir dir;
    make_variant(dir, [&](RawTensors& t) {
      t[kMtp + "embed_tokens.weight"] = t.at("model.embed_tokens.weight");
      t[kMtp + "shared_head.head.weight"] = t.at("lm_head.weight");
      if (k.drop_embed) t.erase(kMtp + "embed_tokens.weight");
      if (k.drop_head) t.erase(kMtp + "shared_head.head.weight");
    });
    const Outputs v = run(dir.path());
    CHECK(v.warnings.empty());
    CHECK(v.config.mtp_shares_embedding == k.drop_embed);
    CHECK(v.config.mtp_shares_head == k.drop_head);
    CHECK(v.logits == copies.logits);
    CHECK(v.drafts == copies.drafts);
    // A shared tensor is the main program's plan tensor, not a second copy.
    CHECK(v.plan_tensors == copies.plan_tensors - (k.drop_embed ? 1 : 0) - (k.drop_head ? 1 : 0));
  }
}

// `t` (BF16 [rows, cols]) as DeepSeek's FP8: e4m3 codes and F32 block scales (powers of two, so
// fp8 * scale is exact in BF16), plus the BF16 tensor holding exactly those dequantised values.
struct Fp8Encoding {
  RawTensor q, scale, exact_bf16;
};

Fp8Encoding encode_fp8(const RawTensor& t, int64_t block = 128) {
  REQUIRE(t.dtype == "BF16");
  REQUIRE(t.shape.size() == 2);
  const int64_t rows = t.shape[0], cols = t.shape[1];
  const int64_t br = (rows + block - 1) / block, bc = (cols + block - 1) / block;
  auto value = [&](int64_t i, int64_t j) {
    uint16_t b;
    std::memcpy(&b, t.bytes.data() + 2 * (i * cols + j), 2);
    return bf16_to_f32(b);
  };
  std::vector<float> scales(static_cast<size_t>(br * bc));
  for (int64_t bi = 0; bi < br; ++bi)
    for (int64_t bj = 0; bj < bc; ++bj) {
      float amax = 0;
      for (int64_t i = bi * block; i < std::min(rows, (bi + 1) * block); ++i)
        for (int64_t j = bj * block; j < std::min(cols, (bj + 1) * block); ++j) amax = std::max(amax, std::fabs(value(i, j)));
      scales[static_cast<size_t>(bi * bc + bj)] = amax > 0 ? std::exp2(std::ceil(std::log2(amax / 448.0f))) : 1.0f;
    }
  Fp8Encoding e{{"F8_E4M3", t.shape, std::vector<uint8_t>(static_cast<size_t>(rows * cols))},
                {"F32", {br, bc}, std::vector<uint8_t>(scales.size() * 4)},
                {"BF16", t.shape, std::vector<uint8_t>(t.bytes.size())}};
  std::memcpy(e.scale.bytes.data(), scales.data(), e.scale.bytes.size());
  for (int64_t i = 0; i < rows; ++i)
    for (int64_t j = 0; j < cols; ++j) {
      const float s = scales[static_cast<size_t>((i / block) * bc + j / block)];
      const uint8_t q = f32_to_fp8_e4m3(value(i, j) / s);
      e.q.bytes[static_cast<size_t>(i * cols + j)] = q;
      const float exact = fp8_e4m3_to_f32(q) * s;
      const uint16_t b = f32_to_bf16(exact);
      REQUIRE(bf16_to_f32(b) == exact);
      std::memcpy(e.exact_bf16.bytes.data() + 2 * (i * cols + j), &b, 2);
    }
  return e;
}

TEST_CASE("a projection stored in FP8 where BF16 was expected is dequantised like any FP8 tensor") {
  // eh_proj (MTP) and lm_head (main model): DeepSeek keeps both in BF16.
  for (const std::string& name : {kEhProj, std::string("lm_head.weight")}) {
    CAPTURE(name);
    Fp8Encoding enc;
    testing::TempDir reference_dir;
    make_variant(reference_dir, [&](RawTensors& t) {
      enc = encode_fp8(t.at(name));
      t[name] = enc.exact_bf16;
    });
    testing::TempDir dir;
    make_variant(dir, [&](RawTensors& t) {
      t[name] = enc.q;
      t[name + "_scale_inv"] = enc.scale;
    });
    const Outputs reference = run(reference_dir.path());
    const Outputs v = run(dir.path());
    CHECK(v.warnings.empty());
    CHECK(v.logits == reference.logits);
    CHECK(v.drafts == reference.drafts);
    CHECK((v.logits != complete_outputs().logits || v.drafts != complete_outputs().drafts));  // the re-encoding mattered
  }
}

TEST_CASE("config metadata that does not fit is a warning; the tokenizer's special tokens are used") {
  testing::TempDir dir;
  make_variant(dir, [](RawTensors&) {});
  testing::edit_json_file(dir.path() / "config.json", [](nlohmann::json& j) {
    j["bos_token_id"] = 700;  // vocab_size is 613
    j["eos_token_id"] = {1, 99999};
  });
  testing::write_text(dir.path() / "generation_config.json", R"({"bos_token_id": 0, "eos_token_id": 5, "temperature": 0.6})");
  const Outputs v = run(dir.path());
  CAPTURE(v.warnings.size());
  CHECK(v.warnings.size() == 4);
  CHECK(any_contains(v.warnings, "field 'bos_token_id': 700 is not a token id in the vocabulary (vocab_size 613)"));
  CHECK(any_contains(v.warnings, "field 'eos_token_id': list entry 99999 is not a token id"));
  CHECK(any_contains(v.warnings, "generation_config.json: bos_token_id 0 disagrees with config.json's 700"));
  CHECK(any_contains(v.warnings, "generation_config.json: eos_token_id 5 disagrees with config.json's [1, 99999]"));
  CHECK(v.config.bos_token_id == -1);
  CHECK(v.config.eos_token_id == 1);
  CHECK(v.logits == complete_outputs().logits);
  CHECK(v.drafts == complete_outputs().drafts);

  // bos_token_id null and a generation_config that agrees: nothing to say.
  testing::edit_json_file(dir.path() / "config.json", [](nlohmann::json& j) {
    j["bos_token_id"] = nullptr;
    j["eos_token_id"] = 1;
  });
  testing::write_text(dir.path() / "generation_config.json", R"({"eos_token_id": [1], "do_sample": true})");
  const Outputs quiet = run(dir.path());
  CHECK(quiet.warnings.empty());
  CHECK(quiet.config.bos_token_id == -1);

  // The plan's special tokens are the tokenizer's, whatever config.json says.
  testing::edit_json_file(dir.path() / "config.json", [](nlohmann::json& j) { j["eos_token_id"] = 612; });
  CompileOptions options;
  options.max_context = 64;
  options.warn = [](const std::string&) {};
  const std::string plan_path = (dir.path() / "meta.r1vk").string();
  auto manifest = compile_checkpoint(dir.str(), options, plan_path);
  if (!manifest.ok()) FAIL(manifest.error().message());
  auto tok = text::Tokenizer::from_json(manifest->tokenizer_json, manifest->tokenizer_config_json);
  REQUIRE(tok.ok());
  const auto vocab = nlohmann::json::parse(testing::read_text(dir.path() / "tokenizer.json"))["model"]["vocab"];
  REQUIRE(tok->bos_id().has_value());
  REQUIRE(tok->eos_id().has_value());
  CHECK(*tok->bos_id() == vocab[gen::kBosToken].get<int64_t>());
  CHECK(*tok->eos_id() == vocab[gen::kEosToken].get<int64_t>());
  CHECK(*tok->eos_id() != 612);
}

}  // namespace
}  // namespace r1vk
