#include <doctest/doctest.h>

#include <algorithm>
#include <cmath>

#include "base/numeric_formats.h"
#include "import/dequantize.h"
#include "import/import_test_util.h"
#include "import/import_model.h"
#include "import/tensor_inventory.h"
#include "tensor_values.h"

namespace r1vk {
namespace {

const ExpectedTensor& find_expected(const std::vector<ExpectedTensor>& inv, const std::string& name) {
  const auto it = std::find_if(inv.begin(), inv.end(), [&](const ExpectedTensor& t) { return t.name == name; });
  REQUIRE(it != inv.end());
  return *it;
}

std::vector<float> generated_values(uint64_t seed, const ExpectedTensor& t) {
  uint64_t n = 1;
  for (int64_t d : t.shape) n *= static_cast<uint64_t>(d);
  std::vector<float> v(static_cast<size_t>(n));
  gen::TensorValues(seed, t).fill(v);
  return v;
}

TEST_CASE("every preset imports cleanly: bf16 and FP8, single file and sharded") {
  struct Case {
    const char* preset;
    bool fp8;
    int64_t shards;
  };
  for (const Case& k : {Case{"tiny-r1", false, 1}, Case{"tiny-r1", true, 1}, Case{"tiny-r1", true, 4},
                        Case{"tiny-v2-lite", false, 1}, Case{"tiny-v2-lite", false, 3}, Case{"tiny-qwen2", false, 1},
                        Case{"tiny-qwen2", false, 2}, Case{"tiny-llama3", false, 1}, Case{"tiny-llama3", false, 2}}) {
    CAPTURE(k.preset);
    CAPTURE(k.fp8);
    CAPTURE(k.shards);
    testing::TempDir dir;
    testing::generate(dir.path(), testing::preset(k.preset, k.fp8), k.shards);
    CHECK(std::filesystem::exists(dir.path() / "tokenizer.json"));
    CHECK(std::filesystem::exists(dir.path() / "tokenizer_config.json"));
    CHECK(std::filesystem::exists(dir.path() / "model.safetensors.index.json") == (k.shards > 1));
    auto model = import_model(dir.str());
    if (!model.ok()) FAIL(model.error().message());
    CHECK(model->checkpoint.shards().size() == static_cast<size_t>(k.shards));
    CHECK(model->checkpoint.tensor_count() == expected_tensors(model->config).size());
  }
}

TEST_CASE("the tiny-r1 inventory follows R1's names, including FP8 scales and the MTP layer") {
  const ModelConfig c = testing::preset("tiny-r1", true);
  const auto inv = expected_tensors(c);
  CHECK(find_expected(inv, "model.layers.0.mlp.gate_proj.weight").shape == std::vector<int64_t>{544, 320});
  CHECK(find_expected(inv, "model.layers.0.mlp.gate_proj.weight_scale_inv").shape == std::vector<int64_t>{5, 3});
  CHECK(find_expected(inv, "model.layers.1.self_attn.q_b_proj.weight").shape == std::vector<int64_t>{4 * 192, 192});
  CHECK(find_expected(inv, "model.layers.1.self_attn.kv_a_proj_with_mqa.weight").shape == std::vector<int64_t>{576, 320});
  CHECK(find_expected(inv, "model.layers.1.self_attn.kv_b_proj.weight").shape == std::vector<int64_t>{4 * 256, 512});
  CHECK(find_expected(inv, "model.layers.1.mlp.gate.weight").dtypes.front() == DType::kBF16);
  CHECK(find_expected(inv, "model.layers.1.mlp.gate.e_score_correction_bias").shape == std::vector<int64_t>{8});
  // Linear weights are FP8 in an FP8 config; any matrix may be stored either way (read through its scales).
  CHECK(find_expected(inv, "model.layers.2.mlp.experts.7.down_proj.weight").dtypes ==
        std::vector<DType>{DType::kF8E4M3, DType::kBF16, DType::kF16, DType::kF32});
  CHECK(find_expected(inv, "model.norm.weight").dtypes == std::vector<DType>{DType::kBF16, DType::kF16, DType::kF32});
  CHECK(find_expected(inv, "model.layers.2.mlp.shared_experts.up_proj.weight").shape == std::vector<int64_t>{160, 320});
  // MTP block = layer num_hidden_layers, with its own embedding/head copies; eh_proj stays unquantised.
  CHECK(find_expected(inv, "model.layers.3.eh_proj.weight").shape == std::vector<int64_t>{320, 640});
  CHECK(find_expected(inv, "model.layers.3.eh_proj.weight").dtypes.front() == DType::kBF16);
  CHECK(find_expected(inv, "model.layers.3.embed_tokens.weight").shape == std::vector<int64_t>{613, 320});
  CHECK(find_expected(inv, "model.layers.3.shared_head.head.weight").mtp);
  CHECK(find_expected(inv, "model.layers.3.shared_head.norm.weight").role == TensorRole::kNorm);
  CHECK(find_expected(inv, "model.layers.3.enorm.weight").shape == std::vector<int64_t>{320});
  CHECK(find_expected(inv, "model.layers.3.mlp.experts.0.gate_proj.weight_scale_inv").shape == std::vector<int64_t>{2, 3});
  for (const ExpectedTensor& t : inv) CHECK(t.name.find("model.layers.4.") == std::string::npos);

  // An MTP layer that shares the main embedding and head lists no copies of them.
  ModelConfig shared = c;
  shared.mtp_shares_embedding = shared.mtp_shares_head = true;
  const auto fewer = expected_tensors(shared);
  CHECK(fewer.size() == inv.size() - 2);
  for (const ExpectedTensor& t : fewer) {
    CHECK(t.name != "model.layers.3.embed_tokens.weight");
    CHECK(t.name != "model.layers.3.shared_head.head.weight");
  }
}

TEST_CASE("read_f32 returns the generated values exactly: bf16 rounding, FP8 codes times block scales") {
  testing::TempDir bf16_dir;
  testing::TempDir fp8_dir;
  const uint64_t seed = 11;
  testing::generate(bf16_dir.path(), testing::preset("tiny-r1"), 1, seed);
  testing::generate(fp8_dir.path(), testing::preset("tiny-r1", true), 1, seed);
  auto bf16 = import_model(bf16_dir.str());
  auto fp8 = import_model(fp8_dir.str());
  REQUIRE(bf16.ok());
  REQUIRE(fp8.ok());
  const auto inv = expected_tensors(fp8->config);

  const std::string name = "model.layers.1.self_attn.q_b_proj.weight";  // [768, 192]: partial column blocks
  const ExpectedTensor& t = find_expected(inv, name);
  const std::vector<float> original = generated_values(seed, t);
  auto from_bf16 = bf16->checkpoint.read_f32(name);
  auto from_fp8 = fp8->checkpoint.read_f32(name);
  REQUIRE(from_bf16.ok());
  REQUIRE(from_fp8.ok());
  auto scales = fp8->checkpoint.read_f32(name + "_scale_inv");
  REQUIRE(scales.ok());
  REQUIRE(scales->size() == 6 * 2);
  double err = 0;
  double norm = 0;
  for (size_t k = 0; k < original.size(); ++k) {
    CHECK(from_bf16->at(k) == bf16_to_f32(f32_to_bf16(original[k])));
    const size_t i = k / 192;
    const size_t j = k % 192;
    const float scale = (*scales)[(i / 128) * 2 + j / 128];
    REQUIRE(from_fp8->at(k) == fp8_e4m3_to_f32(f32_to_fp8_e4m3(original[k] / scale)) * scale);
    err += (from_fp8->at(k) - original[k]) * (from_fp8->at(k) - original[k]);
    norm += original[k] * original[k];
  }
  CHECK(err / norm < 1e-3);  // e4m3 keeps ~3 bits of mantissa: relative MSE well below 1e-3
  const double rms = std::sqrt(norm / static_cast<double>(original.size()));
  CHECK(rms == doctest::Approx(1.0 / std::sqrt(192.0)).epsilon(0.05));  // std 1/sqrt(fan_in)

  auto norm_w = bf16->checkpoint.read_f32("model.layers.0.input_layernorm.weight");
  REQUIRE(norm_w.ok());
  for (float v : *norm_w) CHECK(std::fabs(v - 1.0f) <= 0.1f + 1.0f / 128);  // + one bf16 ulp near 1
}

TEST_CASE("sharded and single-file checkpoints of one seed hold identical tensors") {
  testing::TempDir one;
  testing::TempDir many;
  testing::generate(one.path(), testing::preset("tiny-qwen2"), 1, 5);
  testing::generate(many.path(), testing::preset("tiny-qwen2"), 3, 5);
  auto a = Checkpoint::open(one.str());
  auto b = Checkpoint::open(many.str());
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  REQUIRE(a->tensor_names() == b->tensor_names());
  for (const std::string& name : a->tensor_names()) {
    auto x = a->tensor(name);
    auto y = b->tensor(name);
    REQUIRE(x.ok());
    REQUIRE(y.ok());
    CHECK(std::equal(x->bytes.begin(), x->bytes.end(), y->bytes.begin(), y->bytes.end()));
  }
}

TEST_CASE("typed views are zero-copy and check dtype") {
  testing::TempDir dir;
  testing::generate(dir.path(), testing::preset("tiny-llama3"));
  auto ck = Checkpoint::open(dir.str());
  REQUIRE(ck.ok());
  const std::string name = "model.layers.0.self_attn.k_proj.weight";
  auto ref = ck->tensor(name);
  REQUIRE(ref.ok());
  auto view = ck->typed_view<uint16_t>(name, DType::kBF16);
  REQUIRE(view.ok());
  CHECK(static_cast<const void*>(view->data()) == static_cast<const void*>(ref->bytes.data()));
  CHECK(view->size() == 64 * 256);
  auto wrong = ck->typed_view<float>(name, DType::kF32);
  REQUIRE_FALSE(wrong.ok());
  CHECK(wrong.error().message() == "tensor '" + name + "' is BF16, not F32");
  auto missing = ck->read_f32("nope");
  REQUIRE_FALSE(missing.ok());
  CHECK(missing.error().code() == ErrorCode::kNotFound);
}

}  // namespace
}  // namespace r1vk
