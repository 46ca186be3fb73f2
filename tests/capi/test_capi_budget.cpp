// The context's device-memory budget: a budget too small to load the demo model fails cleanly
// with R1VK_ERROR_OUT_OF_BUDGET, a big enough one works and is never passed.
#include <cstddef>
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

namespace {

// A context with `budget` bytes and the demo model loaded with `mo`; the load's status.
r1vk_status load_reserving(Loaded& l, uint64_t budget, const r1vk_model_options& mo) {
  r1vk_context_options co;
  r1vk_context_options_init(&co);
  co.memory_budget_bytes = budget;
  CAPI_OK(r1vk_context_create(&co, &l.context));
  return r1vk_model_load(l.context, plan_path().c_str(), &mo, &l.model);
}

// The bytes a too-small budget's error names as needed ("at least N bytes").
uint64_t bytes_needed(const r1vk_model_options& mo) {
  Loaded l;
  REQUIRE(load_reserving(l, 1, mo) == R1VK_ERROR_OUT_OF_BUDGET);
  const std::string msg = r1vk_last_error();
  const size_t at = msg.find("at least ");
  REQUIRE_MESSAGE(at != std::string::npos, msg);
  return std::stoull(msg.substr(at + 9));
}

}  // namespace

TEST_CASE("the load keeps room under a budget for the sessions and drafts the host asks for") {
  // Under a budget the routed experts fill what the reserve leaves: without asking, a host that
  // wants three sessions verifying two drafts each gets one plain session's room at most.
  r1vk_model_options plain;
  r1vk_model_options_init(&plain);
  CHECK(plain.reserve_sessions == 1);
  CHECK(plain.reserve_draft_tokens == -1);
  r1vk_model_options three = plain;
  three.reserve_sessions = 3;
  three.reserve_draft_tokens = 2;
  const uint64_t need_plain = bytes_needed(plain), need_three = bytes_needed(three);
  CHECK(need_three > need_plain);
  MESSAGE("the demo model needs ", need_plain, " bytes with one session's reserve, ", need_three, " with three sessions of two drafts");

  r1vk_session_options so;
  r1vk_session_options_init(&so);
  so.draft_tokens = 2;
  uint32_t experts_on_device = 0;
  {
    Loaded l;
    REQUIRE(load_reserving(l, need_three, three) == R1VK_OK);
    r1vk_model_info info;
    r1vk_model_info_init(&info);
    CAPI_OK(r1vk_model_get_info(l.model, &info));
    experts_on_device = static_cast<uint32_t>(info.routed_experts_on_device);
    r1vk_session* s[3] = {};
    for (auto& one : s) CAPI_OK(r1vk_session_create_with_options(l.model, &so, &one));
    set_greedy(s[2]);
    Collected c;
    CHECK(ask(s[2], c) == R1VK_FINISH_EOS);
    CHECK(c.answer.find("-61238") != std::string::npos);
    for (auto* one : s) r1vk_session_destroy(one);
    // Or one batch of three.
    r1vk_batch* b = nullptr;
    CAPI_OK(r1vk_batch_create_with_options(l.model, 3, &so, &b));
    r1vk_batch_destroy(b);
  }
  {
    // The same budget with the default reserve: the routed experts take the room the sessions
    // were to have (the load places experts into whatever the reserve leaves).
    Loaded l;
    REQUIRE(load_reserving(l, need_three, plain) == R1VK_OK);
    r1vk_model_info info;
    r1vk_model_info_init(&info);
    CAPI_OK(r1vk_model_get_info(l.model, &info));
    CHECK(info.routed_experts_on_device > experts_on_device);
  }
}

TEST_CASE("model options from a header without the reserve fields load with their defaults; bad reserves are refused") {
  struct OldOptions {  // r1vk_model_options before reserve_sessions and reserve_draft_tokens
    uint32_t struct_size;
    int64_t context_length;
    r1vk_progress_callback progress;
    void* progress_user_data;
    const char* expert_counts_path;
  } old{};
  old.struct_size = sizeof(old);
  REQUIRE(sizeof(old) == offsetof(r1vk_model_options, reserve_sessions));
  Loaded l;
  r1vk_context_options co;
  r1vk_context_options_init(&co);
  CAPI_OK(r1vk_context_create(&co, &l.context));
  CAPI_OK(r1vk_model_load(l.context, plan_path().c_str(), reinterpret_cast<const r1vk_model_options*>(&old), &l.model));
  r1vk_model_destroy(l.model);
  l.model = nullptr;
  old.struct_size = sizeof(old) - 1;
  CHECK(r1vk_model_load(l.context, plan_path().c_str(), reinterpret_cast<const r1vk_model_options*>(&old), &l.model) ==
        R1VK_ERROR_INVALID_ARGUMENT);
  r1vk_model_options mo;
  r1vk_model_options_init(&mo);
  mo.reserve_draft_tokens = 9;
  CHECK(r1vk_model_load(l.context, plan_path().c_str(), &mo, &l.model) == R1VK_ERROR_INVALID_ARGUMENT);
  CHECK(std::string(r1vk_last_error()).find("reserve_draft_tokens") != std::string::npos);
  mo.reserve_draft_tokens = -1;
  mo.reserve_sessions = 100000;
  CHECK(r1vk_model_load(l.context, plan_path().c_str(), &mo, &l.model) == R1VK_ERROR_INVALID_ARGUMENT);
  CHECK(std::string(r1vk_last_error()).find("reserve_sessions") != std::string::npos);
  CHECK(l.model == nullptr);
}
