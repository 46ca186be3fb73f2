#include <doctest/doctest.h>

#include "import/import_test_util.h"
#include "import/model_stats.h"

namespace r1vk {
namespace {

TEST_CASE("tiny-qwen2 parameter count matches a hand computation") {
  // hidden 192, 6 heads x 32, 2 KV heads, intermediate 400, 2 layers, vocab 541, untied.
  const uint64_t attention = 192 * 192 + 192            // q_proj + bias
                             + 2 * (64 * 192 + 64)      // k_proj, v_proj + biases
                             + 192 * 192;               // o_proj
  const uint64_t mlp = 3 * 400 * 192;
  const uint64_t layer = attention + mlp + 2 * 192;     // + two norms
  const uint64_t expected = 2 * 541 * 192 + 192 + 2 * layer;  // embed + head + final norm
  const ParameterCounts p = count_parameters(testing::preset("tiny-qwen2"));
  CHECK(p.total == expected);
  CHECK(p.active == expected);
  CHECK(p.mtp == 0);
}

TEST_CASE("tiny-r1 total and active parameters match a hand computation") {
  // hidden 320, 4 heads, q_lora 192, kv_lora 512, nope 128, rope 64, v 128; layer 0 dense (544),
  // layers 1-2 MoE: 8 experts x 160, 2 per token, 1 shared; vocab 613; MTP layer 3.
  const uint64_t h = 320;
  const uint64_t attn = 192 * h + 192 + 4 * 192 * 192 + 576 * h + 512 + 4 * 256 * 512 + h * 4 * 128;
  const uint64_t expert = 3 * 160 * h;
  const uint64_t moe_fixed = 8 * h + 8 + expert;  // router, correction bias, shared expert
  const uint64_t dense_layer = attn + 3 * 544 * h + 2 * h;
  const uint64_t moe_layer = attn + moe_fixed + 8 * expert + 2 * h;
  const uint64_t globals = 2 * 613 * h + h;
  const ParameterCounts p = count_parameters(testing::preset("tiny-r1", true));  // FP8 scales are not parameters
  CHECK(p.total == globals + dense_layer + 2 * moe_layer);
  CHECK(p.active == globals + dense_layer + 2 * (moe_layer - 6 * expert));
  CHECK(p.mtp == moe_layer + 2 * 613 * h + 3 * h + 2 * h * h);
}

TEST_CASE("published sizes: R1 671B total / ~37B active, MTP ~14B; distills") {
  const ParameterCounts r1 = count_parameters(testing::preset("r1"));
  CHECK(static_cast<double>(r1.total) / 1e9 == doctest::Approx(671.0).epsilon(0.002));
  CHECK(static_cast<double>(r1.active) / 1e9 == doctest::Approx(37.5).epsilon(0.02));
  CHECK(static_cast<double>(r1.mtp) / 1e9 == doctest::Approx(14.0).epsilon(0.05));
  // V2-Lite: 15.7B total; DeepSeek's 2.4B active leaves out the input embedding (0.21B), we count it.
  const ParameterCounts v2 = count_parameters(testing::preset("v2-lite"));
  CHECK(v2.total == 15706484224ull);
  CHECK(v2.active - 102400ull * 2048 == doctest::Approx(2.45e9).epsilon(0.01));
  const ParameterCounts qwen = count_parameters(testing::preset("distill-qwen-1.5b"));
  CHECK(static_cast<double>(qwen.total) / 1e9 == doctest::Approx(1.777).epsilon(0.002));
  const ParameterCounts llama = count_parameters(testing::preset("distill-llama-8b"));
  CHECK(static_cast<double>(llama.total) / 1e9 == doctest::Approx(8.03).epsilon(0.002));
}

TEST_CASE("KV cache bytes per token: MLA latent + rope key, GQA K and V") {
  CHECK(kv_cache_bytes_per_token(testing::preset("r1")) == 61 * 576 * 2);  // 70,272 (MODEL_SPEC §4)
  CHECK(kv_cache_bytes_per_token(testing::preset("distill-llama-8b")) == 2 * 8 * 128 * 32 * 2);
}

TEST_CASE("memory per format: f16 2 bytes, q8 1 + 2/32, q4 0.5 + 2/32, fp8 1 + 4 per 128x128 block") {
  // tiny-llama3: 2-D weights and 1-D norms computed independently of the inventory.
  const uint64_t h = 256;
  const uint64_t mats[][2] = {{529, h}, {529, h}};  // embed, head
  uint64_t f16 = 0, q8 = 0, q4 = 0, fp8 = 0, ones = h;  // final norm
  auto add = [&](uint64_t r, uint64_t c, uint64_t times) {
    f16 += times * 2 * r * c;
    q8 += times * (r * c + r * ((c + 31) / 32) * 2);
    q4 += times * ((r * c + 1) / 2 + r * ((c + 31) / 32) * 2);
    fp8 += times * (r * c + 4 * ((r + 127) / 128) * ((c + 127) / 128));
  };
  for (const auto& m : mats) add(m[0], m[1], 1);
  const uint64_t layers = 2;
  add(256, h, 2 * layers);  // q_proj, o_proj (8 heads x 32 = 256)
  add(64, h, 2 * layers);   // k_proj, v_proj (2 KV heads x 32)
  add(448, h, 2 * layers);  // gate_proj, up_proj
  add(h, 448, layers);      // down_proj
  ones += 2 * layers * h;   // input / post-attention norms
  const MemoryEstimate m = estimate_memory(testing::preset("tiny-llama3"));
  CHECK(m.f16 == f16 + 4 * ones);
  CHECK(m.q8 == q8 + 4 * ones);
  CHECK(m.q4 == q4 + 4 * ones);
  CHECK(m.fp8 == fp8 + 4 * ones);
}

}  // namespace
}  // namespace r1vk
