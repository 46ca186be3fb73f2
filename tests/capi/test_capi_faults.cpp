// Failure paths of the C API under injected device faults (runtime/vulkan/fault_injection.h,
// driven through R1VK_FAULT, which r1vk reads at every allocation, submit and wait): out of
// device memory at model load and at session creation fail cleanly, name what did not fit and
// leave the context usable; a device lost during a step fails that call and every later one on
// the context, and everything can still be destroyed.
#include <cstdlib>
#include <string>

#include "capi/capi_fixture.h"

using namespace capi_test;

namespace {

// Sets R1VK_FAULT for one scope; the fault counters start from this moment.
struct FaultScope {
  explicit FaultScope(const char* spec) { ::setenv("R1VK_FAULT", spec, 1); }
  FaultScope(const FaultScope&) = delete;
  FaultScope& operator=(const FaultScope&) = delete;
  ~FaultScope() { ::unsetenv("R1VK_FAULT"); }
};

bool last_error_has(const char* text) { return std::string(r1vk_last_error()).find(text) != std::string::npos; }

}  // namespace

TEST_CASE("out of device memory while loading a model fails cleanly and names the bytes") {
  r1vk_context* ctx = nullptr;
  CAPI_OK(r1vk_context_create(nullptr, &ctx));
  r1vk_model* model = nullptr;
  {
    FaultScope fault("alloc:1");
    CHECK(r1vk_model_load(ctx, plan_path().c_str(), nullptr, &model) == R1VK_ERROR_OUT_OF_MEMORY);
    CHECK_MESSAGE(last_error_has("out of device memory: needed "), r1vk_last_error());
    CHECK(model == nullptr);
  }
  // Nothing leaked into the context: the same load now succeeds.
  CAPI_OK(r1vk_model_load(ctx, plan_path().c_str(), nullptr, &model));
  r1vk_model_destroy(model);
  r1vk_context_destroy(ctx);
}

TEST_CASE("out of device memory at session creation fails cleanly; the model stays usable") {
  Loaded l;
  load(l);
  r1vk_session* s = nullptr;
  {
    FaultScope fault("alloc:1");
    CHECK(r1vk_session_create(l.model, &s) == R1VK_ERROR_OUT_OF_MEMORY);
    CHECK_MESSAGE(last_error_has("out of device memory: needed "), r1vk_last_error());
    CHECK(s == nullptr);
  }
  CAPI_OK(r1vk_session_create(l.model, &s));
  set_greedy(s);
  Collected c;
  CHECK(ask(s, c) == R1VK_FINISH_EOS);
  CHECK(c.answer.find("-61238") != std::string::npos);
  r1vk_session_destroy(s);
}

namespace {

// Every call that would use the device fails with R1VK_ERROR_VULKAN naming the earlier loss; the
// host-side queries still answer.
void check_unusable(r1vk_context* ctx, r1vk_model* model, r1vk_session* s, r1vk_batch* batch, r1vk_session* in_batch) {
  auto lost = [](r1vk_status st, const char* call) {
    CHECK_MESSAGE(st == R1VK_ERROR_VULKAN, call, " -> ", r1vk_status_name(st));
    CHECK_MESSAGE(last_error_has("the device was lost ("), call, ": ", r1vk_last_error());
    CHECK_MESSAGE(last_error_has("VK_ERROR_DEVICE_LOST"), call, ": ", r1vk_last_error());
  };
  const int32_t tokens[] = {0, 2};
  lost(r1vk_session_feed_tokens(s, tokens, 2), "feed_tokens");
  lost(r1vk_session_feed_chat(s, kQuestion, 1), "feed_chat");
  lost(r1vk_session_generate(s, nullptr, nullptr), "generate");
  lost(r1vk_session_submit_step(s), "submit_step");
  int ready = 1;
  int32_t token = 0;
  lost(r1vk_session_poll(s, &token, &ready), "poll");
  CHECK(ready == 0);
  lost(r1vk_session_reset(s), "reset");
  r1vk_session* other = nullptr;
  lost(r1vk_session_create(model, &other), "session_create");
  CHECK(other == nullptr);
  r1vk_model* again = nullptr;
  lost(r1vk_model_load(ctx, plan_path().c_str(), nullptr, &again), "model_load");
  CHECK(again == nullptr);
  r1vk_batch* other_batch = nullptr;
  lost(r1vk_batch_create(model, 2, &other_batch), "batch_create");
  CHECK(other_batch == nullptr);
  lost(r1vk_batch_session_create(batch, &other), "batch_session_create");
  int32_t out = 0;
  lost(r1vk_batch_step(batch, &in_batch, 1, &out), "batch_step");
  // Host-side state still answers.
  int64_t position = -1, context_length = 0;
  CAPI_OK(r1vk_session_position(s, &position, &context_length));
  CHECK(context_length > 0);
  size_t count = 0;
  int32_t ids[16];
  CAPI_OK(r1vk_tokenize(model, "1 + 1", 5, 0, ids, 16, &count));
  CHECK(count > 0);
}

enum class Phase { kFeed, kGenerate, kPoll };

}  // namespace

TEST_CASE("a device lost during a step fails that call; the context is unusable after it, and every handle destroys") {
  struct Case {
    const char* spec;
    Phase phase;
  };
  for (const Case k : {Case{"submit:1", Phase::kFeed}, Case{"wait:1", Phase::kFeed}, Case{"submit:3", Phase::kGenerate},
                       Case{"wait:1", Phase::kPoll}}) {
    CAPTURE(k.spec);
    CAPTURE(static_cast<int>(k.phase));
    Loaded l;
    load(l);
    r1vk_session* s = nullptr;
    CAPI_OK(r1vk_session_create(l.model, &s));
    set_greedy(s);
    r1vk_batch* batch = nullptr;
    CAPI_OK(r1vk_batch_create(l.model, 2, &batch));
    r1vk_session* in_batch = nullptr;
    CAPI_OK(r1vk_batch_session_create(batch, &in_batch));
    if (k.phase != Phase::kFeed) {
      CAPI_OK(r1vk_session_feed_chat(s, kQuestion, 1));
      CAPI_OK(r1vk_session_feed_chat(in_batch, kQuestion, 1));
    }
    {
      FaultScope fault(k.spec);
      r1vk_status st = R1VK_OK;
      switch (k.phase) {
        case Phase::kFeed: st = r1vk_session_feed_chat(s, kQuestion, 1); break;
        case Phase::kGenerate: st = r1vk_session_generate(s, nullptr, nullptr); break;
        case Phase::kPoll: {
          // The submit goes through; the step's completion is what fails.
          CAPI_OK(r1vk_session_submit_step(s));
          int ready = 0;
          for (int i = 0; i < 100000 && st == R1VK_OK && !ready; ++i) st = r1vk_session_poll(s, nullptr, &ready);
          break;
        }
      }
      CHECK(st == R1VK_ERROR_VULKAN);
      CHECK_MESSAGE(last_error_has("VK_ERROR_DEVICE_LOST"), r1vk_last_error());
    }
    // The hook no longer injects anything (the device itself works again): what keeps every later
    // call failing is the context's own rule that a lost device stays lost.
    check_unusable(l.context, l.model, s, batch, in_batch);
    r1vk_session_destroy(in_batch);
    r1vk_batch_destroy(batch);
    r1vk_session_destroy(s);
    // ~Loaded destroys the model and the context.
  }
  // A new context on the same device serves again.
  Loaded fresh;
  load(fresh);
  r1vk_session* s = nullptr;
  CAPI_OK(r1vk_session_create(fresh.model, &s));
  set_greedy(s);
  Collected c;
  CHECK(ask(s, c) == R1VK_FINISH_EOS);
  CHECK(c.answer.find("-61238") != std::string::npos);
  r1vk_session_destroy(s);
}
