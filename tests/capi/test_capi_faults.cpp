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

TEST_CASE("a device lost during a step fails it and every later call, and all handles destroy") {
  for (const char* spec : {"submit:1", "wait:1"}) {
    CAPTURE(spec);
    Loaded l;
    load(l);
    r1vk_session* s = nullptr;
    CAPI_OK(r1vk_session_create(l.model, &s));
    set_greedy(s);
    FaultScope fault(spec);
    CHECK(r1vk_session_feed_chat(s, kQuestion, 1) == R1VK_ERROR_VULKAN);
    CHECK_MESSAGE(last_error_has("VK_ERROR_DEVICE_LOST"), r1vk_last_error());
    // The device stays lost: later work on the context fails the same way instead of hanging.
    const int32_t tokens[] = {0, 2};
    CHECK(r1vk_session_feed_tokens(s, tokens, 2) != R1VK_OK);
    r1vk_session* other = nullptr;
    const r1vk_status st = r1vk_session_create(l.model, &other);
    if (st == R1VK_OK) {
      CHECK(r1vk_session_feed_tokens(other, tokens, 2) != R1VK_OK);
      r1vk_session_destroy(other);
    }
    r1vk_session_destroy(s);
    // ~Loaded destroys the model and the context with the device still "lost".
  }
}
