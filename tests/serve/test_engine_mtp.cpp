// The serving engine with MTP drafts on the fake step runner (no device): a decode step may emit
// two tokens per sequence. The text, finish reasons and usage must equal decoding without drafts
// for every sequence of a batch; the second token of a pair is dropped when the first ends the
// request (max_tokens, a stop string, end of sentence); a sequence one token short of max_tokens
// verifies no draft, nor one past the context; cancelling works mid-draft; every KV block comes
// back; /metrics counts the drafts.
#include <doctest/doctest.h>

#include <thread>

#include "engine_test_util.h"
#include "serve/engine.h"

namespace r1vk::serve {
namespace {

// Reply 0: "7" 40 times then the end of sentence; reply 1: reasoning, "</think>", an answer.
std::vector<std::vector<int32_t>> replies() {
  std::vector<int32_t> sevens(40, test::encode("7")[0]);
  std::vector<int32_t> golden = test::encode("1: 4+8+0=12\n");
  golden.push_back(static_cast<int32_t>(test::demo_think_end()));
  for (int32_t t : test::encode("\n\n6912")) golden.push_back(t);
  return {sevens, golden};
}

enum class Drafter { kNone, kAlwaysRight, kWrongEveryThird };

FakeStepRunnerOptions options(Drafter drafter) {
  FakeStepRunnerOptions o;
  o.max_batch = 8;
  o.total_blocks = 512;
  o.block_tokens = 4;
  o.context_length = 128;
  o.next_token = test::scripted_replies(replies());
  if (drafter != Drafter::kNone) {
    auto next = o.next_token;
    const bool wrong_sometimes = drafter == Drafter::kWrongEveryThird;
    o.draft_token = [next, wrong_sometimes](const std::vector<int32_t>& h) {
      return wrong_sometimes && h.size() % 3 == 0 ? int32_t{5} : next(h);
    };
  }
  return o;
}

struct Run {
  std::string text;  // reasoning|answer
  FinishReason reason = FinishReason::kError;
  int64_t completion_tokens = -1;
};

struct Request {
  int32_t key;
  size_t prompt;
  int64_t max_tokens;
  std::vector<std::string> stops;
};

// Every request submitted at once; what each stream delivered, and the runner's counts.
struct BatchResult {
  std::vector<Run> runs;
  size_t steps = 0;
  std::vector<FakeStepRunner::StepRecord> records;
  exec::DraftStats drafts;
  uint64_t metric_proposed = 0, metric_accepted = 0;
  size_t free_blocks = 0, total_blocks = 0;
};

BatchResult run_batch(Drafter drafter, const std::vector<Request>& requests, uint32_t draft_max_decodes = UINT32_MAX) {
  FakeStepRunner runner(options(drafter));
  EngineOptions eo;
  eo.scheduler.draft_max_decodes = draft_max_decodes;
  Engine engine(runner, test::demo_tokenizer(), test::demo_eos(), eo);
  std::vector<std::shared_ptr<RequestStream>> streams;
  for (const Request& r : requests) {
    GenerationRequest g;
    g.prompt = test::scripted_prompt(r.key, r.prompt);
    g.max_tokens = r.max_tokens;
    g.text.stop_strings = r.stops;
    auto s = engine.submit(g);
    REQUIRE(s.ok());
    streams.push_back(*s);
  }
  engine.start();  // after every submit: the first step admits them all
  BatchResult out;
  for (auto& s : streams) {
    auto c = test::collect(*s);
    out.runs.push_back({c.reasoning + "|" + c.answer, c.finish.reason, c.finish.completion_tokens});
  }
  engine.stop();
  out.records = runner.steps();
  out.steps = out.records.size();
  out.drafts = runner.draft_stats();
  out.metric_proposed = engine.metrics().draft_proposed.load();
  out.metric_accepted = engine.metrics().draft_accepted.load();
  out.free_blocks = runner.free_blocks();
  out.total_blocks = runner.total_blocks();
  return out;
}

void check_same(const BatchResult& got, const BatchResult& want) {
  REQUIRE(got.runs.size() == want.runs.size());
  for (size_t i = 0; i < got.runs.size(); ++i) {
    CAPTURE(i);
    CHECK(got.runs[i].text == want.runs[i].text);
    CHECK(got.runs[i].reason == want.runs[i].reason);
    CHECK(got.runs[i].completion_tokens == want.runs[i].completion_tokens);
  }
  CHECK(got.free_blocks == got.total_blocks);
}

TEST_CASE("with MTP drafts every sequence of a batch streams what it streams without, in fewer steps") {
  // Ends of every kind, each landing on the first or the second token of a verified pair: the
  // end of sentence after either reply, max_tokens odd and even, stop strings.
  const std::vector<Request> requests = {
      {0, 3, 100, {}}, {1, 5, 100, {}}, {0, 4, 7, {}}, {0, 6, 8, {}},
      {1, 3, 100, {"+0="}}, {1, 7, 100, {"4+"}}, {1, 4, 9, {}}, {0, 9, 1, {}},
      {0, 121, 100, {}},  // max_tokens capped at the context's 7 free positions: no draft past its end
  };
  const BatchResult plain = run_batch(Drafter::kNone, requests);
  CHECK(plain.drafts.proposed == 0);
  CHECK(plain.metric_proposed == 0);
  CHECK(plain.runs[0].completion_tokens == 40);
  CHECK(plain.runs[4].reason == FinishReason::kStop);
  CHECK(plain.runs[8].completion_tokens == 7);
  for (Drafter d : {Drafter::kAlwaysRight, Drafter::kWrongEveryThird}) {
    CAPTURE(static_cast<int>(d));
    const BatchResult mtp = run_batch(d, requests);
    check_same(mtp, plain);
    CHECK(mtp.drafts.proposed > 0);
    CHECK(mtp.metric_proposed == mtp.drafts.proposed);
    CHECK(mtp.metric_accepted == mtp.drafts.accepted);
    if (d == Drafter::kAlwaysRight) {
      CHECK(mtp.drafts.accepted == mtp.drafts.proposed);
      CHECK(mtp.steps * 10 < plain.steps * 6);  // about half the decode steps
    } else {
      CHECK(mtp.drafts.accepted < mtp.drafts.proposed);
      CHECK(mtp.drafts.accepted > 0);
      CHECK(mtp.steps < plain.steps);
    }
  }
}

TEST_CASE("max_tokens is never exceeded: a sequence with one token left verifies no draft") {
  for (int64_t max_tokens = 1; max_tokens <= 9; ++max_tokens) {
    CAPTURE(max_tokens);
    const std::vector<Request> one = {{0, 3, max_tokens, {}}};
    const BatchResult plain = run_batch(Drafter::kNone, one);
    const BatchResult mtp = run_batch(Drafter::kAlwaysRight, one);
    check_same(mtp, plain);
    CHECK(mtp.runs[0].completion_tokens == max_tokens);
    CHECK(mtp.runs[0].text == std::string(static_cast<size_t>(max_tokens), '7') + "|");
    // The prompt's step samples the first token; each later step verifies a draft and emits two
    // while two or more are wanted, and the last one, if one is left, is a plain step.
    CHECK(mtp.drafts.proposed == static_cast<uint64_t>((max_tokens - 1) / 2));
    CHECK(mtp.steps == static_cast<size_t>(1 + max_tokens / 2));
  }
}

TEST_CASE("drafts are verified only while at most draft_max_decodes sequences decode") {
  // Three sequences decode together for about 10 tokens, then one goes on alone to 40.
  const std::vector<Request> requests = {{0, 3, 100, {}}, {0, 3, 10, {}}, {0, 3, 11, {}}};
  const BatchResult plain = run_batch(Drafter::kNone, requests);
  const BatchResult limited = run_batch(Drafter::kAlwaysRight, requests, 2);
  check_same(limited, plain);
  CHECK(limited.drafts.proposed > 0);  // the lone sequence drafts
  for (const auto& r : limited.records) {
    if (r.entries - r.prefill_entries > 2) CHECK(r.verified == 0);
  }
  // Unlimited, the three-sequence steps verify drafts too: more of them than limited.
  const BatchResult unlimited = run_batch(Drafter::kAlwaysRight, requests);
  check_same(unlimited, plain);
  CHECK(unlimited.drafts.proposed > limited.drafts.proposed);
  CHECK(run_batch(Drafter::kAlwaysRight, requests, 0).drafts.proposed == 0);
}

TEST_CASE("a request cancelled while its sequence verifies drafts is dropped and its blocks freed") {
  FakeStepRunnerOptions o = options(Drafter::kAlwaysRight);
  o.max_batch = 2;
  o.step_delay = std::chrono::milliseconds(2);
  FakeStepRunner runner(o);
  Engine engine(runner, test::demo_tokenizer(), test::demo_eos(), EngineOptions{});
  engine.start();
  GenerationRequest g;
  g.prompt = test::scripted_prompt(0, 3);
  g.max_tokens = 40;
  auto a = engine.submit(g);
  auto b = engine.submit(g);
  REQUIRE(a.ok());
  REQUIRE(b.ok());
  for (int i = 0; i < 5000 && runner.draft_stats().accepted < 4; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  REQUIRE(runner.draft_stats().accepted >= 4);  // both sequences are verifying drafts
  (*a)->cancel();
  engine.notify();
  CHECK(test::collect(**a).finish.reason == FinishReason::kCancelled);
  auto rest = test::collect(**b);
  CHECK(rest.finish.completion_tokens == 40);
  CHECK(rest.reasoning == std::string(40, '7'));
  engine.stop();
  CHECK(runner.live_sequences() == 0);
  CHECK(runner.free_blocks() == runner.total_blocks());
}

}  // namespace
}  // namespace r1vk::serve
