// The context's device-memory budget: a budget too small to load the demo model fails cleanly
// with R1VK_ERROR_OUT_OF_BUDGET, a big enough one works and is never passed.
#include <string>

#include "capi/capi_fixture.h"

using namespace capi_test;

TEST_CASE("a budget too small for the model fails the load cleanly") {
  r1vk_context_options co;
  r1vk_context_options_init(&co);
  co.memory_budget_bytes = 256 << 10;  // the demo weights alone need more
  r1vk_context* ctx = nullptr;
  CAPI_OK(r1vk_context_create(&co, &ctx));
  r1vk_model* model = nullptr;
  CHECK(r1vk_model_load(ctx, plan_path().c_str(), nullptr, &model) == R1VK_ERROR_OUT_OF_BUDGET);
  const std::string msg = r1vk_last_error();
  CHECK(msg.find("budget of 262144 bytes") != std::string::npos);
  CHECK(model == nullptr);
  r1vk_memory_usage usage;
  CAPI_OK(r1vk_context_memory_usage(ctx, &usage));
  CHECK(usage.budget_bytes == 256u << 10);
  CHECK(usage.allocated_bytes <= usage.budget_bytes);
  CHECK(usage.used_bytes == 0);
  r1vk_context_destroy(ctx);
}

TEST_CASE("a big enough budget loads and runs, and usage stays within it") {
  // First measure what the model and one session take without a budget.
  uint64_t needed = 0;
  {
    Loaded l;
    load(l);
    r1vk_session* s = nullptr;
    CAPI_OK(r1vk_session_create(l.model, &s));
    r1vk_memory_usage usage;
    CAPI_OK(r1vk_context_memory_usage(l.context, &usage));
    CHECK(usage.budget_bytes == 0);
    CHECK(usage.used_bytes > 0);
    CHECK(usage.used_bytes <= usage.allocated_bytes);
    needed = usage.used_bytes;
    r1vk_session_destroy(s);
  }
  // Room for the model and one session (plus alignment slack), not for a second session.
  const uint64_t budget = needed + needed / 4 + (1u << 20);
  Loaded l;
  load(l, budget);
  r1vk_session* s = nullptr;
  CAPI_OK(r1vk_session_create(l.model, &s));
  set_greedy(s);
  Collected c;
  CHECK(ask(s, c) == R1VK_FINISH_EOS);
  CHECK(c.answer.find("-61238") != std::string::npos);
  r1vk_memory_usage usage;
  CAPI_OK(r1vk_context_memory_usage(l.context, &usage));
  CHECK(usage.allocated_bytes <= budget);
  MESSAGE("model + session: ", needed, " bytes in buffers; budget ", budget, "; allocated ", usage.allocated_bytes);

  r1vk_session* more[64] = {};
  r1vk_status st = R1VK_OK;
  for (auto& m : more) {
    st = r1vk_session_create(l.model, &m);
    if (st != R1VK_OK) break;
  }
  CHECK(st == R1VK_ERROR_OUT_OF_BUDGET);
  CAPI_OK(r1vk_context_memory_usage(l.context, &usage));
  CHECK(usage.allocated_bytes <= budget);
  for (auto* m : more) r1vk_session_destroy(m);
  r1vk_session_destroy(s);
}

TEST_CASE("a budget below the whole model keeps routed experts in host memory with the same answer") {
  uint64_t needed = 0;
  {
    Loaded l;
    load(l);
    r1vk_model_info info;
    r1vk_model_info_init(&info);
    CAPI_OK(r1vk_model_get_info(l.model, &info));
    CHECK(info.routed_experts > 0);
    CHECK(info.routed_experts_on_device == info.routed_experts);
    CHECK(info.host_weight_bytes == 0);
    r1vk_session* s = nullptr;
    CAPI_OK(r1vk_session_create(l.model, &s));
    r1vk_memory_usage usage;
    CAPI_OK(r1vk_context_memory_usage(l.context, &usage));
    needed = usage.used_bytes;
    r1vk_session_destroy(s);
  }
  // One byte short of everything on the device: some experts must move to host memory.
  Loaded l;
  load(l, needed - 1);
  r1vk_model_info info;
  r1vk_model_info_init(&info);
  CAPI_OK(r1vk_model_get_info(l.model, &info));
  CHECK(info.routed_experts_on_device < info.routed_experts);
  CHECK(info.host_weight_bytes > 0);
  MESSAGE(info.routed_experts_on_device, " of ", info.routed_experts, " routed experts on the device under a budget of ",
          needed - 1, " bytes");
  r1vk_session* s = nullptr;
  CAPI_OK(r1vk_session_create(l.model, &s));
  set_greedy(s);
  Collected c;
  CHECK(ask(s, c) == R1VK_FINISH_EOS);
  CHECK(c.answer.find("-61238") != std::string::npos);
  r1vk_memory_usage usage;
  CAPI_OK(r1vk_context_memory_usage(l.context, &usage));
  CHECK(usage.allocated_bytes <= needed - 1);
  r1vk_session_destroy(s);
}
