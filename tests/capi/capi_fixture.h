// Shared set-up of the C API tests: the demo plan compiled by the capi_demo_plan CTest fixture
// (its path in R1VK_CAPI_PLAN), and a context + model + greedy helpers built only from r1vk.h.
#pragma once

#include <r1vk/r1vk.h>

#include <cstdlib>
#include <string>
#include <vector>

#include "doctest/doctest.h"

namespace capi_test {

inline std::string plan_path() {
  const char* p = std::getenv("R1VK_CAPI_PLAN");
  REQUIRE_MESSAGE(p != nullptr, "R1VK_CAPI_PLAN is not set (run through ctest)");
  return p;
}

// Checks a call and shows r1vk's message when it fails.
#define CAPI_OK(call)                                                                              \
  do {                                                                                             \
    const r1vk_status capi_status_ = (call);                                                       \
    REQUIRE_MESSAGE(capi_status_ == R1VK_OK, #call, " -> ", r1vk_status_name(capi_status_), ": ", \
                    r1vk_last_error());                                                            \
  } while (0)

struct Loaded {
  r1vk_context* context = nullptr;
  r1vk_model* model = nullptr;
  Loaded() = default;
  Loaded(const Loaded&) = delete;
  Loaded& operator=(const Loaded&) = delete;
  ~Loaded() {
    r1vk_model_destroy(model);
    r1vk_context_destroy(context);
  }
};

// A context on r1vk's own device choice with `budget` bytes (0: none), and the demo model on it
// with `context_length` tokens per session (0: the plan's).
inline void load(Loaded& l, uint64_t budget = 0, int64_t context_length = 0) {
  r1vk_context_options co;
  r1vk_context_options_init(&co);
  co.memory_budget_bytes = budget;
  CAPI_OK(r1vk_context_create(&co, &l.context));
  r1vk_model_options mo;
  r1vk_model_options_init(&mo);
  mo.context_length = context_length;
  CAPI_OK(r1vk_model_load(l.context, plan_path().c_str(), &mo, &l.model));
}

inline void set_greedy(r1vk_session* s) {
  r1vk_sampling sp;
  r1vk_sampling_init(&sp);
  sp.temperature = 0.0f;
  CAPI_OK(r1vk_session_set_sampling(s, &sp));
}

// What one generation delivered through the token callback.
struct Collected {
  std::vector<int32_t> tokens;  // one entry per token (not per piece)
  std::string reasoning, answer;
};

inline int collect(const r1vk_token_event* e, void* user) {
  auto* c = static_cast<Collected*>(user);
  if (e->token >= 0) c->tokens.push_back(e->token);
  c->reasoning.append(e->reasoning, e->reasoning_length);
  c->answer.append(e->answer, e->answer_length);
  return 1;
}

inline const r1vk_chat_message kQuestion[] = {{"user", "What is 31415 - 92653?"}};

// Feeds the demo question and generates greedily; returns the finish reason.
inline r1vk_finish_reason ask(r1vk_session* s, Collected& c, int64_t max_tokens = 200, const char* const* stops = nullptr,
                              size_t stop_count = 0) {
  CAPI_OK(r1vk_session_feed_chat(s, kQuestion, 1));
  r1vk_generate_options go;
  r1vk_generate_options_init(&go);
  go.max_tokens = max_tokens;
  go.on_token = collect;
  go.user_data = &c;
  go.stop_strings = stops;
  go.stop_string_count = stop_count;
  r1vk_generate_result res;
  r1vk_generate_result_init(&res);
  CAPI_OK(r1vk_session_generate(s, &go, &res));
  return res.finish;
}

}  // namespace capi_test
