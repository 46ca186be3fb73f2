// Generation through the C API: stop strings, context overflow, cancellation from another thread,
// sessions interleaved on one model, the non-blocking step, and conversations continued with the
// cached prefix reused, and MTP speculative decoding on and off.
#include <atomic>
#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "capi/capi_fixture.h"

using namespace capi_test;

namespace {

struct Session {
  r1vk_session* s = nullptr;
  explicit Session(r1vk_model* m) {
    CAPI_OK(r1vk_session_create(m, &s));
    set_greedy(s);
  }
  ~Session() { r1vk_session_destroy(s); }
};

}  // namespace

TEST_CASE("stop strings end generation across token boundaries and are not delivered") {
  Loaded l;
  load(l);
  Session a(l.model);
  Collected full;
  REQUIRE(ask(a.s, full) == R1VK_FINISH_EOS);
  const std::string text = full.reasoning + full.answer;
  // "\n3:" starts the third reasoning line: several tokens long in the demo tokenizer.
  const std::string stop = "\n3:";
  const size_t at = full.reasoning.find(stop);
  REQUIRE(at != std::string::npos);

  CAPI_OK(r1vk_session_reset(a.s));
  Collected cut;
  const char* stops[] = {"never appears", stop.c_str()};
  CHECK(ask(a.s, cut, 200, stops, 2) == R1VK_FINISH_STOP_STRING);
  CHECK(cut.reasoning == full.reasoning.substr(0, at));
  CHECK(cut.answer.empty());
  CHECK(cut.tokens.size() < full.tokens.size());

  // A stop string that never appears changes nothing.
  CAPI_OK(r1vk_session_reset(a.s));
  Collected same;
  const char* absent[] = {"xyz"};
  CHECK(ask(a.s, same, 200, absent, 1) == R1VK_FINISH_EOS);
  CHECK(same.reasoning == full.reasoning);
  CHECK(same.answer == full.answer);
}

TEST_CASE("the token callback can stop generation") {
  Loaded l;
  load(l);
  Session a(l.model);
  CAPI_OK(r1vk_session_feed_chat(a.s, kQuestion, 1));
  int calls = 0;
  r1vk_generate_options go;
  r1vk_generate_options_init(&go);
  go.on_token = [](const r1vk_token_event*, void* user) -> int { return ++*static_cast<int*>(user) < 4; };
  go.user_data = &calls;
  r1vk_generate_result res;
  r1vk_generate_result_init(&res);
  CAPI_OK(r1vk_session_generate(a.s, &go, &res));
  CHECK(res.finish == R1VK_FINISH_CALLBACK);
  CHECK(res.generated_tokens == 4);
  CHECK(calls == 4);
}

TEST_CASE("context overflow is a clear status and the session works again after reset") {
  Loaded l;
  load(l, 0, 40);
  Session a(l.model);
  Collected first;
  CHECK(ask(a.s, first) == R1VK_FINISH_CONTEXT_FULL);
  int64_t pos = 0, ctx = 0;
  CAPI_OK(r1vk_session_position(a.s, &pos, &ctx));
  CHECK(ctx == 40);
  CHECK(pos == 40);
  const int32_t one = 1;
  CHECK(r1vk_session_feed_tokens(a.s, &one, 1) == R1VK_ERROR_CONTEXT_FULL);
  CHECK(std::string(r1vk_last_error()).find("context full") != std::string::npos);
  CHECK(r1vk_session_submit_step(a.s) == R1VK_ERROR_CONTEXT_FULL);
  CHECK(r1vk_session_feed_chat(a.s, kQuestion, 1) == R1VK_OK);  // a conversation that fits reuses the cache

  CAPI_OK(r1vk_session_reset(a.s));
  std::vector<int32_t> too_long(41, 1);
  CHECK(r1vk_session_feed_tokens(a.s, too_long.data(), too_long.size()) == R1VK_ERROR_CONTEXT_FULL);
  CAPI_OK(r1vk_session_position(a.s, &pos, nullptr));
  CHECK(pos == 0);  // unchanged
  Collected again;
  CHECK(ask(a.s, again) == R1VK_FINISH_CONTEXT_FULL);
  CHECK(again.tokens == first.tokens);
}

TEST_CASE("r1vk_session_cancel from another thread stops a running generation") {
  Loaded l;
  load(l);
  Session a(l.model);
  CAPI_OK(r1vk_session_feed_chat(a.s, kQuestion, 1));
  struct Sync {
    std::atomic<int> tokens{0};
    std::atomic<bool> cancel_sent{false};
  } sync;
  r1vk_generate_options go;
  r1vk_generate_options_init(&go);
  go.max_tokens = 200;
  go.user_data = &sync;
  // After the third token the generating thread waits until the main thread has cancelled, so
  // the cancel lands mid-generation deterministically.
  go.on_token = [](const r1vk_token_event* e, void* user) -> int {
    auto* s = static_cast<Sync*>(user);
    if (e->token >= 0 && ++s->tokens == 3) {
      const auto until = std::chrono::steady_clock::now() + std::chrono::seconds(30);
      while (!s->cancel_sent && std::chrono::steady_clock::now() < until) std::this_thread::yield();
    }
    return 1;
  };
  r1vk_generate_result res;
  r1vk_generate_result_init(&res);
  r1vk_status status = R1VK_ERROR_INTERNAL;
  std::thread worker([&] { status = r1vk_session_generate(a.s, &go, &res); });
  while (sync.tokens < 3) std::this_thread::yield();
  // The generating thread holds the context: poll answers "not ready" at once instead of waiting.
  int ready = 1;
  CHECK(r1vk_session_poll(a.s, nullptr, &ready) == R1VK_OK);
  CHECK(ready == 0);
  CHECK(r1vk_session_cancel(a.s) == R1VK_OK);
  sync.cancel_sent = true;
  worker.join();
  CHECK(status == R1VK_OK);
  CHECK(res.finish == R1VK_FINISH_CANCELLED);
  CHECK(res.generated_tokens == 3);

  // The cancel was consumed: the next generation runs to its end.
  Collected c;
  CAPI_OK(r1vk_session_reset(a.s));
  CHECK(ask(a.s, c) == R1VK_FINISH_EOS);
}

TEST_CASE("two sessions interleaved on one model give the tokens each gives alone") {
  Loaded l;
  load(l);
  const r1vk_chat_message other[] = {{"user", "What is 777 + 4321?"}};
  std::vector<int32_t> alone_a, alone_b;
  {
    Session a(l.model);
    Collected c;
    REQUIRE(ask(a.s, c) == R1VK_FINISH_EOS);
    alone_a = c.tokens;
    CAPI_OK(r1vk_session_reset(a.s));
    CAPI_OK(r1vk_session_feed_chat(a.s, other, 1));
    Collected d;
    r1vk_generate_options go;
    r1vk_generate_options_init(&go);
    go.on_token = collect;
    go.user_data = &d;
    CAPI_OK(r1vk_session_generate(a.s, &go, nullptr));
    alone_b = d.tokens;
  }
  REQUIRE(alone_a != alone_b);
  // Interleave step by step with the non-blocking API: a and b alternate submits on one queue.
  Session a(l.model), b(l.model);
  CAPI_OK(r1vk_session_feed_chat(a.s, kQuestion, 1));
  CAPI_OK(r1vk_session_feed_chat(b.s, other, 1));
  std::vector<int32_t> got_a, got_b;
  int32_t ta = 0, tb = 0;
  CAPI_OK(r1vk_session_last_token(a.s, &ta));
  CAPI_OK(r1vk_session_last_token(b.s, &tb));
  r1vk_model_info info;
  r1vk_model_info_init(&info);
  CAPI_OK(r1vk_model_get_info(l.model, &info));
  bool a_done = false, b_done = false;
  while (!a_done || !b_done) {
    if (!a_done) {
      if (ta == info.eos_token) {
        a_done = true;
      } else {
        got_a.push_back(ta);
        CAPI_OK(r1vk_session_submit_step(a.s));
      }
    }
    if (!b_done) {
      if (tb == info.eos_token) {
        b_done = true;
      } else {
        got_b.push_back(tb);
        CAPI_OK(r1vk_session_submit_step(b.s));
      }
    }
    for (int ready = 0; !a_done && !ready;) CAPI_OK(r1vk_session_poll(a.s, &ta, &ready));
    for (int ready = 0; !b_done && !ready;) CAPI_OK(r1vk_session_poll(b.s, &tb, &ready));
    REQUIRE(got_a.size() < 300);
  }
  CHECK(got_a == alone_a);
  CHECK(got_b == alone_b);
}

TEST_CASE("the non-blocking step: busy while in flight, poll never waits") {
  Loaded l;
  load(l);
  Session a(l.model);
  CAPI_OK(r1vk_session_feed_chat(a.s, kQuestion, 1));
  CAPI_OK(r1vk_session_submit_step(a.s));
  CHECK(r1vk_session_submit_step(a.s) == R1VK_ERROR_BUSY);
  CHECK(r1vk_session_reset(a.s) == R1VK_ERROR_BUSY);
  CHECK(r1vk_session_generate(a.s, nullptr, nullptr) == R1VK_ERROR_BUSY);
  // A poll is a status query: one that waited for the step would always report it done. Over
  // several steps of a few ms on lavapipe, a poll right after the submit finds a step still
  // running. (No bound in ms: on a loaded machine any call may be descheduled for a while; with
  // MTP every other step is an accepted draft, done at the submit.)
  long polls = 0, not_ready = 0;
  for (int step = 0; step < 8; ++step) {
    if (step > 0) CAPI_OK(r1vk_session_submit_step(a.s));
    int ready = 0;
    int32_t token = -1;
    while (!ready) {
      CAPI_OK(r1vk_session_poll(a.s, &token, &ready));
      ++polls;
      not_ready += ready ? 0 : 1;
    }
    CHECK(token >= 0);
  }
  CHECK(not_ready > 0);
  MESSAGE("8 decode steps polled ", polls, " times, ", not_ready, " of them before the step finished");
  // Destroying a session with a step in flight waits for it (no use-after-free on the device).
  CAPI_OK(r1vk_session_submit_step(a.s));
}

TEST_CASE("a continued conversation reuses the cached prefix and matches a fresh session") {
  Loaded l;
  load(l);
  Session a(l.model);
  Collected first;
  REQUIRE(ask(a.s, first) == R1VK_FINISH_EOS);
  const std::string reply = "<think>\n" + first.reasoning + "</think>\n\n" + first.answer;
  const r1vk_chat_message turn2[] = {{"user", "What is 31415 - 92653?"}, {"assistant", reply.c_str()}, {"user", "What is 5 + 7?"}};

  CAPI_OK(r1vk_session_feed_chat(a.s, turn2, 3));
  int64_t pos_continued = 0;
  CAPI_OK(r1vk_session_position(a.s, &pos_continued, nullptr));
  Collected cont;
  r1vk_generate_options go;
  r1vk_generate_options_init(&go);
  go.on_token = collect;
  go.user_data = &cont;
  CAPI_OK(r1vk_session_generate(a.s, &go, nullptr));

  Session fresh(l.model);
  CAPI_OK(r1vk_session_feed_chat(fresh.s, turn2, 3));
  int64_t pos_fresh = 0;
  CAPI_OK(r1vk_session_position(fresh.s, &pos_fresh, nullptr));
  Collected ref;
  go.user_data = &ref;
  CAPI_OK(r1vk_session_generate(fresh.s, &go, nullptr));
  CHECK(pos_continued == pos_fresh);
  CHECK_FALSE(ref.tokens.empty());
  CHECK(cont.tokens == ref.tokens);  // the reused cache holds exactly what a fresh prefill writes
}

TEST_CASE("MTP speculative decoding is on by default, can be turned off, and changes no token") {
  Loaded l;
  load(l);
  Session a(l.model);  // the default: the demo plan has an MTP program
  r1vk_session_options o;
  r1vk_session_options_init(&o);
  CHECK(o.draft_tokens == -1);
  o.draft_tokens = 0;
  r1vk_session* off = nullptr;
  CAPI_OK(r1vk_session_create_with_options(l.model, &o, &off));
  set_greedy(off);
  Collected with_mtp, without;
  REQUIRE(ask(a.s, with_mtp) == R1VK_FINISH_EOS);
  REQUIRE(ask(off, without) == R1VK_FINISH_EOS);
  CHECK(with_mtp.tokens == without.tokens);
  CHECK(with_mtp.answer == without.answer);
  uint64_t proposed = 0, accepted = 0;
  CAPI_OK(r1vk_session_draft_stats(a.s, &proposed, &accepted));
  CHECK(proposed > 0);
  CHECK(accepted * 10 > proposed * 9);
  CAPI_OK(r1vk_session_draft_stats(off, &proposed, &accepted));
  CHECK(proposed == 0);
  r1vk_session_destroy(off);

  r1vk_session* bad = nullptr;
  o.draft_tokens = 9;  // more than the 8 drafts per step allowed
  CHECK(r1vk_session_create_with_options(l.model, &o, &bad) == R1VK_ERROR_INVALID_ARGUMENT);
  o.draft_tokens = 2;  // two drafts per step: the MTP layer applied to its own output
  CAPI_OK(r1vk_session_create_with_options(l.model, &o, &bad));
  r1vk_session_destroy(bad);
  bad = nullptr;
  o.draft_tokens = 1;
  o.struct_size = 0;
  CHECK(r1vk_session_create_with_options(l.model, &o, &bad) == R1VK_ERROR_INVALID_ARGUMENT);
  CHECK(r1vk_session_create_with_options(l.model, nullptr, &bad) == R1VK_ERROR_INVALID_ARGUMENT);
  CHECK(bad == nullptr);
}
