// The serving engine on the fake step runner (no device): text and usage of a reply, limits,
// continuous batching (joins, mixed prefill and decode, chunked prompts), admission by KV blocks,
// the bounded queue, cancellation and shutdown.
#include <doctest/doctest.h>

#include <thread>

#include "engine_test_util.h"
#include "serve/engine.h"

namespace r1vk::serve {
namespace {

using namespace std::chrono_literals;
using test::collect;
using test::scripted_prompt;

std::vector<int32_t> concat(std::vector<std::vector<int32_t>> parts) {
  std::vector<int32_t> out;
  for (auto& p : parts) out.insert(out.end(), p.begin(), p.end());
  return out;
}

// Reply 0: long reasoning that never ends (for limits and cancellation); reply 1: the golden
// problem's shape, reasoning then answer.
std::vector<std::vector<int32_t>> replies() {
  std::vector<int32_t> endless;
  for (int i = 0; i < 200; ++i) endless.push_back(test::encode("7")[0]);
  return {endless, concat({test::encode("1: 4+8+0=12\n"), {static_cast<int32_t>(test::demo_think_end())}, test::encode("\n\n6912")})};
}

FakeStepRunnerOptions fake_options() {
  FakeStepRunnerOptions o;
  o.max_batch = 4;
  o.total_blocks = 256;
  o.block_tokens = 4;
  o.context_length = 256;
  o.next_token = test::scripted_replies(replies());
  return o;
}

GenerationRequest request(int32_t key, size_t prompt_len, int64_t max_tokens = 100) {
  GenerationRequest r;
  r.prompt = scripted_prompt(key, prompt_len);
  r.max_tokens = max_tokens;
  return r;
}

struct Fixture {
  explicit Fixture(FakeStepRunnerOptions ro = fake_options(), EngineOptions eo = {})
      : runner(std::move(ro)), engine(runner, test::demo_tokenizer(), test::demo_eos(), eo) {
    engine.start();
  }
  FakeStepRunner runner;
  Engine engine;
};

TEST_CASE("a reply is split into reasoning and answer, with usage") {
  Fixture f;
  auto s = f.engine.submit(request(1, 5));
  REQUIRE(s.ok());
  auto c = collect(**s);
  CHECK(c.reasoning == "1: 4+8+0=12\n");
  CHECK(c.answer == "\n\n6912");
  CHECK(c.finish.reason == FinishReason::kStop);
  CHECK(c.finish.prompt_tokens == 5);
  CHECK(c.finish.completion_tokens == static_cast<int64_t>(replies()[1].size()));
  // Reasoning tokens: the reasoning text's tokens plus "</think>".
  CHECK(c.finish.reasoning_tokens == static_cast<int64_t>(test::encode("1: 4+8+0=12\n").size()) + 1);
  CHECK(f.engine.metrics().requests_stop.load() == 1);
  CHECK(f.engine.metrics().time_to_first_token.count() == 1);
}

TEST_CASE("max_tokens ends a reply with length; a stop string with stop, the string withheld") {
  Fixture f;
  auto s = f.engine.submit(request(0, 3, 7));
  REQUIRE(s.ok());
  auto c = collect(**s);
  CHECK(c.finish.reason == FinishReason::kLength);
  CHECK(c.finish.completion_tokens == 7);
  CHECK(c.reasoning == "7777777");

  GenerationRequest r = request(1, 3);
  r.text.stop_strings = {"+0="};
  auto s2 = f.engine.submit(r);
  REQUIRE(s2.ok());
  auto c2 = collect(**s2);
  CHECK(c2.finish.reason == FinishReason::kStop);
  CHECK(c2.reasoning == "1: 4+8");
  CHECK(c2.answer.empty());
}

TEST_CASE("a raw completion is all answer text") {
  Fixture f;
  GenerationRequest r = request(1, 3);
  r.text.prompt_opened_think = false;
  r.text.split_reasoning = false;
  auto s = f.engine.submit(r);
  REQUIRE(s.ok());
  auto c = collect(**s);
  CHECK(c.reasoning.empty());
  CHECK(c.answer == "1: 4+8+0=12\n</think>\n\n6912");  // as `r1vk run --raw` shows it
  CHECK(c.finish.reasoning_tokens == 0);
}

TEST_CASE("bad requests are refused up front") {
  Fixture f;
  CHECK(f.engine.submit(GenerationRequest{}).error().code() == ErrorCode::kInvalidArgument);
  CHECK(f.engine.submit(request(1, 3, 0)).error().code() == ErrorCode::kInvalidArgument);
  auto too_long = f.engine.submit(request(1, 256));
  REQUIRE(!too_long.ok());
  CHECK(too_long.error().code() == ErrorCode::kOutOfRange);
  // max_tokens beyond the context is capped, not refused: the reply ends at the context.
  auto capped = f.engine.submit(request(0, 250, 1000));
  REQUIRE(capped.ok());
  auto c = collect(**capped);
  CHECK(c.finish.reason == FinishReason::kLength);
  CHECK(c.finish.completion_tokens == 6);
}

TEST_CASE("requests join a running batch; new prompts prefill beside ongoing decodes") {
  FakeStepRunnerOptions ro = fake_options();
  ro.step_delay = 2ms;
  Fixture f(ro);
  auto a = f.engine.submit(request(0, 3, 60));
  REQUIRE(a.ok());
  std::this_thread::sleep_for(20ms);  // `a` is decoding by now
  auto b = f.engine.submit(request(1, 9));
  auto c = f.engine.submit(request(0, 4, 30));
  REQUIRE(b.ok());
  REQUIRE(c.ok());
  CHECK(collect(**b).answer == "\n\n6912");
  CHECK(collect(**c).finish.completion_tokens == 30);
  CHECK(collect(**a).finish.completion_tokens == 60);
  bool mixed = false, batched = false;
  for (const auto& s : f.runner.steps()) {
    mixed |= s.prefill_entries > 0 && s.entries > s.prefill_entries;
    batched |= s.entries >= 2;
  }
  CHECK(mixed);
  CHECK(batched);
  CHECK(f.runner.live_sequences() == 0);
  CHECK(f.engine.metrics().running.load() == 0);
  CHECK(f.engine.metrics().kv_blocks_used.load() == 0);
}

TEST_CASE("long prompts are fed in chunks; only the last chunk samples") {
  EngineOptions eo;
  eo.scheduler.prefill_chunk = 4;
  Fixture f(fake_options(), eo);
  auto s = f.engine.submit(request(1, 10));
  REQUIRE(s.ok());
  CHECK(collect(**s).answer == "\n\n6912");
  auto steps = f.runner.steps();
  REQUIRE(steps.size() >= 3);
  CHECK(steps[0].tokens == 4);
  CHECK(steps[1].tokens == 4);
  CHECK(steps[2].tokens == 2);
}

TEST_CASE("prompt chunks fit the executor's row buckets instead of padding a step to a much larger one") {
  FakeStepRunnerOptions ro = fake_options();
  ro.max_batch = 16;
  ro.total_blocks = 2048;
  ro.step_buckets = {1, 2, 4, 8, 16, 64};
  SUBCASE("an 18-token prompt alone: 16 rows, then 2 (not one 64-row step)") {
    Fixture f(ro);
    auto s = f.engine.submit(request(1, 18));
    REQUIRE(s.ok());
    CHECK(collect(**s).answer == "\n\n6912");
    const auto steps = f.runner.steps();
    REQUIRE(steps.size() >= 2);
    CHECK(steps[0].tokens == 16);
    CHECK(steps[1].tokens == 2);
  }
  SUBCASE("beside 15 decoding sequences the 18-token prompt still goes in at once") {
    ro.step_delay = 1ms;
    Fixture f(ro);
    std::vector<std::shared_ptr<RequestStream>> running;
    for (int i = 0; i < 15; ++i) running.push_back(*f.engine.submit(request(0, 3, 150)));
    for (int i = 0; i < 200 && f.runner.steps().size() < 3; ++i) std::this_thread::sleep_for(2ms);
    auto s = f.engine.submit(request(1, 18));
    REQUIRE(s.ok());
    CHECK(collect(**s).answer == "\n\n6912");
    bool whole = false;
    for (const auto& st : f.runner.steps()) whole |= st.prefill_entries == 1 && st.tokens == 15 + 18;
    CHECK(whole);
    for (auto& r : running) r->cancel();
  }
}

TEST_CASE("batched output equals the output of each request alone") {
  auto alone = [](int32_t key, size_t len, int64_t max) {
    Fixture f;
    auto s = f.engine.submit(request(key, len, max));
    REQUIRE(s.ok());
    auto c = collect(**s);
    return c.reasoning + "|" + c.answer;
  };
  Fixture f;
  std::vector<std::shared_ptr<RequestStream>> streams;
  for (int i = 0; i < 8; ++i) {
    auto s = f.engine.submit(request(i % 2, 3 + static_cast<size_t>(i), 10 + i));
    REQUIRE(s.ok());
    streams.push_back(*s);
  }
  for (int i = 0; i < 8; ++i) {
    auto c = collect(*streams[static_cast<size_t>(i)]);
    CHECK(c.reasoning + "|" + c.answer == alone(i % 2, 3 + static_cast<size_t>(i), 10 + i));
  }
}

TEST_CASE("admission waits for KV blocks: a request that does not fit beside another runs after it") {
  FakeStepRunnerOptions ro = fake_options();
  ro.total_blocks = 12;  // 48 tokens; each request below reserves ceil((4+30)/4) = 9 blocks
  Fixture f(ro);
  auto a = f.engine.submit(request(0, 4, 30));
  auto b = f.engine.submit(request(0, 4, 30));
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  CHECK(collect(**a).finish.completion_tokens == 30);
  CHECK(collect(**b).finish.completion_tokens == 30);
  for (const auto& s : f.runner.steps()) CHECK(s.entries == 1);
  // One that could never fit is refused at once rather than queued forever.
  auto huge = f.engine.submit(request(0, 4, 60));
  REQUIRE(!huge.ok());
  CHECK(huge.error().code() == ErrorCode::kOutOfRange);
}

TEST_CASE("the wait queue is bounded") {
  FakeStepRunnerOptions ro = fake_options();
  ro.max_batch = 1;
  ro.step_delay = 5ms;
  EngineOptions eo;
  eo.scheduler.max_waiting = 2;
  Fixture f(ro, eo);
  auto running = f.engine.submit(request(0, 3, 100));
  REQUIRE(running.ok());
  std::this_thread::sleep_for(30ms);  // admitted: the queue is empty again
  auto w1 = f.engine.submit(request(1, 3));
  auto w2 = f.engine.submit(request(1, 3));
  REQUIRE(w1.ok());
  REQUIRE(w2.ok());
  CHECK(f.engine.metrics().waiting.load() == 2);
  auto refused = f.engine.submit(request(1, 3));
  REQUIRE(!refused.ok());
  CHECK(refused.error().code() == ErrorCode::kOutOfMemory);
  (*running)->cancel();
  f.engine.notify();
  CHECK(collect(**running).finish.reason == FinishReason::kCancelled);
  CHECK(collect(**w1).answer == "\n\n6912");
  CHECK(collect(**w2).answer == "\n\n6912");
}

TEST_CASE("a cancelled request, running or waiting, is dropped and its blocks freed") {
  FakeStepRunnerOptions ro = fake_options();
  ro.max_batch = 1;
  ro.step_delay = 2ms;
  Fixture f(ro);
  auto a = f.engine.submit(request(0, 3, 150));
  auto b = f.engine.submit(request(0, 3, 150));
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  std::this_thread::sleep_for(20ms);
  (*b)->cancel();  // still waiting
  (*a)->cancel();  // running
  f.engine.notify();
  auto ca = collect(**a);
  auto cb = collect(**b);
  CHECK(ca.finish.reason == FinishReason::kCancelled);
  CHECK(ca.finish.completion_tokens < 150);
  CHECK(cb.finish.reason == FinishReason::kCancelled);
  CHECK(cb.finish.completion_tokens == 0);
  std::this_thread::sleep_for(10ms);
  CHECK(f.runner.live_sequences() == 0);
  CHECK(f.engine.metrics().running.load() == 0);
  CHECK(f.engine.metrics().waiting.load() == 0);
  CHECK(f.engine.metrics().requests_cancelled.load() == 2);
  // The engine goes on serving.
  auto c = f.engine.submit(request(1, 3));
  REQUIRE(c.ok());
  CHECK(collect(**c).answer == "\n\n6912");
}

TEST_CASE("stop() cancels what runs and refuses what comes after") {
  FakeStepRunnerOptions ro = fake_options();
  ro.step_delay = 2ms;
  Fixture f(ro);
  auto a = f.engine.submit(request(0, 3, 150));
  REQUIRE(a.ok());
  std::this_thread::sleep_for(10ms);
  f.engine.stop();
  CHECK(collect(**a).finish.reason == FinishReason::kCancelled);
  auto late = f.engine.submit(request(1, 3));
  REQUIRE(!late.ok());
  CHECK(late.error().code() == ErrorCode::kCancelled);
  CHECK(f.runner.live_sequences() == 0);
}

TEST_CASE("a token the tokenizer does not know ends its request with an error; the engine goes on") {
  FakeStepRunnerOptions ro = fake_options();
  ro.context_length = 256;
  ro.total_blocks = 256;
  auto good = ro.next_token;
  ro.next_token = [good](const std::vector<int32_t>& h) { return h[1] == 5 ? -7 : good(h); };  // id -7: not a token
  Fixture f(ro);
  auto bad = f.engine.submit(request(5, 3));
  REQUIRE(bad.ok());
  auto c = collect(**bad);
  CHECK(c.finish.reason == FinishReason::kError);
  CHECK(!c.finish.error.empty());
  auto ok = f.engine.submit(request(1, 3));
  REQUIRE(ok.ok());
  CHECK(collect(**ok).answer == "\n\n6912");
  CHECK(f.engine.metrics().requests_error.load() == 1);
}

TEST_CASE("a lost device fails what runs and what waits, and every later request; device_failure() says why") {
  FakeStepRunnerOptions ro = fake_options();
  ro.max_batch = 1;
  ro.step_delay = 1ms;
  ro.lose_device_at_step = 5;
  Fixture f(ro);
  CHECK(f.engine.device_failure().empty());
  auto running = f.engine.submit(request(0, 3, 150));
  auto waiting = f.engine.submit(request(1, 3));
  REQUIRE(running.ok());
  REQUIRE(waiting.ok());
  const auto a = collect(**running);
  const auto b = collect(**waiting);
  CHECK(a.finish.reason == FinishReason::kError);
  CHECK(b.finish.reason == FinishReason::kError);
  CHECK(a.finish.error.find("VK_ERROR_DEVICE_LOST") != std::string::npos);
  CHECK(b.finish.error.find("VK_ERROR_DEVICE_LOST") != std::string::npos);
  CHECK(f.engine.device_failure().find("VK_ERROR_DEVICE_LOST") != std::string::npos);
  auto late = f.engine.submit(request(1, 3));
  REQUIRE(!late.ok());
  CHECK(late.error().code() == ErrorCode::kVulkan);
  CHECK(f.runner.live_sequences() == 0);
  CHECK(f.engine.metrics().running.load() == 0);
  CHECK(f.engine.metrics().kv_blocks_used.load() == 0);
}

TEST_CASE("an ordinary I/O or Vulkan error from one step fails that step's requests only; the engine goes on") {
  // The runner is not lost (StepRunner::lost() empty), so whatever the error's code, requests
  // that were not in the step and later ones are served. (Before, any kVulkan or kIo error
  // failed the whole engine.)
  FakeStepRunnerOptions ro = fake_options();
  ro.max_batch = 1;  // the second request waits while the first is in the failing step
  ro.step_delay = 1ms;
  ro.fail_steps = {4};
  SUBCASE("I/O") {
    ro.step_error_code = ErrorCode::kIo;
    ro.step_error = "writing the step's input: Input/output error";
  }
  SUBCASE("Vulkan") {
    ro.step_error_code = ErrorCode::kVulkan;
    ro.step_error = "vkQueueSubmit failed: VK_ERROR_OUT_OF_DEVICE_MEMORY";
  }
  Fixture f(ro);
  auto running = f.engine.submit(request(0, 3, 150));
  auto waiting = f.engine.submit(request(1, 3));
  REQUIRE(running.ok());
  REQUIRE(waiting.ok());
  const auto a = collect(**running);
  CHECK(a.finish.reason == FinishReason::kError);
  CHECK(a.finish.error == ro.step_error);
  const auto b = collect(**waiting);
  CHECK(b.finish.reason == FinishReason::kStop);
  CHECK(b.answer == "\n\n6912");
  CHECK(f.engine.device_failure().empty());
  auto later = f.engine.submit(request(1, 3));
  REQUIRE(later.ok());
  CHECK(collect(**later).answer == "\n\n6912");
  CHECK(f.engine.metrics().requests_error.load() == 1);
  CHECK(f.runner.live_sequences() == 0);
}

TEST_CASE("an ordinary error while a sequence is admitted fails that request only") {
  FakeStepRunnerOptions ro = fake_options();
  ro.fail_adds = 1;
  ro.step_error_code = ErrorCode::kIo;
  ro.step_error = "reading the prompt cache: Input/output error";
  Fixture f(ro);
  auto first = f.engine.submit(request(0, 3));
  REQUIRE(first.ok());
  const auto a = collect(**first);
  CHECK(a.finish.reason == FinishReason::kError);
  CHECK(a.finish.error == ro.step_error);
  CHECK(f.engine.device_failure().empty());
  auto second = f.engine.submit(request(1, 3));
  REQUIRE(second.ok());
  CHECK(collect(**second).answer == "\n\n6912");
}

TEST_CASE("a pipeline rank lost while a sequence is admitted fails the engine as a lost device does") {
  // Regression (breaker): a stopped rank failed each new request in admission, while the engine
  // stayed healthy and /health said ok.
  FakeStepRunnerOptions ro = fake_options();
  ro.lose_rank_at_add = true;
  Fixture f(ro);
  auto first = f.engine.submit(request(0, 3));
  REQUIRE(first.ok());
  const auto a = collect(**first);
  CHECK(a.finish.reason == FinishReason::kError);
  CHECK(a.finish.error.find("pipeline rank 1 lost") != std::string::npos);
  CHECK(f.engine.device_failure().find("pipeline rank 1 lost") != std::string::npos);
  CHECK_FALSE(f.engine.submit(request(1, 3)).ok());
}

}  // namespace
}  // namespace r1vk::serve
