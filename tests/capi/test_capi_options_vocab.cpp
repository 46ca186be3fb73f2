// The C API shares r1vk run's option checks (api/generation_options.h: same values refused, same
// message), adds the BOS/EOS tokenizer_config.json asks for on request, and on a model whose
// vocabulary is padded past its tokenizer (gen-checkpoint's tiny-qwen2, R1VK_CAPI_PADDED_PLAN)
// never samples a padding id and decodes one to nothing.
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "capi/capi_fixture.h"

using namespace capi_test;

namespace {

std::string sampling_error(r1vk_session* s, float temperature, float top_p) {
  r1vk_sampling sp;
  r1vk_sampling_init(&sp);
  sp.temperature = temperature;
  sp.top_p = top_p;
  if (r1vk_session_set_sampling(s, &sp) != R1VK_ERROR_INVALID_ARGUMENT) return "(accepted)";
  return r1vk_last_error();
}

std::vector<int32_t> tokenize(r1vk_model* m, const std::string& text, int flags) {
  std::vector<int32_t> ids(256);
  size_t n = 0;
  CAPI_OK(r1vk_tokenize(m, text.data(), text.size(), flags, ids.data(), ids.size(), &n));
  ids.resize(n);
  return ids;
}

std::string detokenize(r1vk_model* m, int32_t id) {
  char buf[64];
  size_t len = 0;
  CAPI_OK(r1vk_detokenize(m, &id, 1, buf, sizeof buf, &len));
  return std::string(buf, len);
}

}  // namespace

TEST_CASE("sampling and length values are refused as r1vk run refuses them, NaN and infinities included") {
  Loaded l;
  load(l);
  r1vk_session* s = nullptr;
  CAPI_OK(r1vk_session_create(l.model, &s));
  const float nan = std::numeric_limits<float>::quiet_NaN(), inf = std::numeric_limits<float>::infinity();
  // The messages tests/cli/cli_generation_options.sh expects from run and chat.
  CHECK(sampling_error(s, nan, 0.95f) == "temperature must be a finite number >= 0 (0: greedy), got nan");
  CHECK(sampling_error(s, inf, 0.95f) == "temperature must be a finite number >= 0 (0: greedy), got inf");
  CHECK(sampling_error(s, -1.0f, 0.95f) == "temperature must be a finite number >= 0 (0: greedy), got -1");
  CHECK(sampling_error(s, 0.6f, 0.0f) == "top_p must be in (0, 1] (1: off), got 0");
  CHECK(sampling_error(s, 0.6f, 1.5f) == "top_p must be in (0, 1] (1: off), got 1.5");
  CHECK(sampling_error(s, 0.6f, nan) == "top_p must be in (0, 1] (1: off), got nan");
  CHECK(sampling_error(s, 0.6f, inf) == "top_p must be in (0, 1] (1: off), got inf");
  CHECK(sampling_error(s, 0.0f, 1.0f) == "(accepted)");

  CAPI_OK(r1vk_session_feed_chat(s, kQuestion, 1));
  r1vk_generate_options go;
  r1vk_generate_options_init(&go);
  go.max_tokens = 0;
  CHECK(r1vk_session_generate(s, &go, nullptr) == R1VK_ERROR_INVALID_ARGUMENT);
  CHECK(std::string(r1vk_last_error()) == "max_tokens must be at least 1, got 0");
  go.max_tokens = 1;
  r1vk_generate_result result;
  r1vk_generate_result_init(&result);
  CAPI_OK(r1vk_session_generate(s, &go, &result));
  CHECK(result.generated_tokens == 1);
  r1vk_session_destroy(s);
}

TEST_CASE("R1VK_TOKENIZE_ADD_SPECIAL adds BOS as the demo's tokenizer_config.json says") {
  Loaded l;
  load(l);
  r1vk_model_info info;
  r1vk_model_info_init(&info);
  CAPI_OK(r1vk_model_get_info(l.model, &info));
  const auto plain = tokenize(l.model, "What is 2 + 3?", 0);
  const auto with = tokenize(l.model, "What is 2 + 3?", R1VK_TOKENIZE_ADD_SPECIAL);
  REQUIRE(with.size() == plain.size() + 1);
  CHECK(with.front() == info.bos_token);
  CHECK(std::vector<int32_t>(with.begin() + 1, with.end()) == plain);
  size_t n = 0;
  CHECK(r1vk_tokenize(l.model, "a", 1, 4, nullptr, 0, &n) == R1VK_ERROR_INVALID_ARGUMENT);
}

TEST_CASE("a vocabulary padded past the tokenizer: padding ids are never sampled and decode to nothing") {
  const char* plan = std::getenv("R1VK_CAPI_PADDED_PLAN");
  REQUIRE_MESSAGE(plan != nullptr, "R1VK_CAPI_PADDED_PLAN is not set (run through ctest)");
  Loaded l;
  r1vk_context_options co;
  r1vk_context_options_init(&co);
  CAPI_OK(r1vk_context_create(&co, &l.context));
  CAPI_OK(r1vk_model_load(l.context, plan, nullptr, &l.model));
  r1vk_model_info info;
  r1vk_model_info_init(&info);
  CAPI_OK(r1vk_model_get_info(l.model, &info));
  // Every tokenizer id decodes to some text (specials included); a padding row to none.
  int32_t padding = -1;
  for (int32_t id = static_cast<int32_t>(info.vocab_size) - 1; id >= 0 && padding < 0; --id)
    if (detokenize(l.model, id).empty()) padding = id;
  REQUIRE_MESSAGE(padding >= 0, "the padded preset has no padding rows");
  const int32_t past = static_cast<int32_t>(info.vocab_size);
  char buf[8];
  size_t len = 0;
  CHECK(r1vk_detokenize(l.model, &past, 1, buf, sizeof buf, &len) == R1VK_ERROR_INVALID_ARGUMENT);

  r1vk_session* s = nullptr;
  CAPI_OK(r1vk_session_create(l.model, &s));
  for (uint32_t seed = 1; seed <= 6; ++seed) {
    CAPTURE(seed);
    r1vk_sampling sp;
    r1vk_sampling_init(&sp);
    sp.temperature = 1.5f;
    sp.top_p = 1.0f;
    sp.seed = seed;
    CAPI_OK(r1vk_session_set_sampling(s, &sp));
    CAPI_OK(r1vk_session_reset(s));
    auto prompt = tokenize(l.model, "Hello there", R1VK_TOKENIZE_ADD_SPECIAL);
    prompt.push_back(padding);  // a raw prompt may hold one: it is fed like any row
    CAPI_OK(r1vk_session_feed_tokens(s, prompt.data(), prompt.size()));
    Collected c;
    r1vk_generate_options go;
    r1vk_generate_options_init(&go);
    go.max_tokens = 24;
    go.on_token = collect;
    go.user_data = &c;
    CAPI_OK(r1vk_session_generate(s, &go, nullptr));
    for (int32_t t : c.tokens) CHECK_FALSE(detokenize(l.model, t).empty());
  }
  r1vk_session_destroy(s);
}
