// The serving engine with N MTP drafts per sequence (N = 1, 2, 3, 8) on the fake step runner (no
// device): a decode step may emit up to 1 + N tokens per sequence. The text, finish reasons and
// usage must equal decoding without drafts for every sequence of a batch; tokens after one that
// ends the request (max_tokens, a stop string, end of sentence, the context's end) are dropped,
// never streamed; the scheduler asks for no draft past max_tokens or the context and keeps a
// step's rows inside its budget; cancelling works mid-draft; every KV block comes back; /metrics
// counts the drafts.
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

struct Setup {
  Drafter drafter = Drafter::kNone;
  uint32_t drafts = 1;  // N: drafts per sequence and step
  uint32_t draft_max_decodes = UINT32_MAX;
  uint32_t step_token_budget = 512;
  bool ignore_entry_drafts = false;  // the runner verifies all N drafts, however few were asked
};

FakeStepRunnerOptions options(const Setup& setup) {
  FakeStepRunnerOptions o;
  o.max_batch = 8;
  o.total_blocks = 512;
  o.block_tokens = 4;
  o.context_length = 128;
  o.next_token = test::scripted_replies(replies());
  if (setup.drafter != Drafter::kNone) {
    auto next = o.next_token;
    const bool wrong_sometimes = setup.drafter == Drafter::kWrongEveryThird;
    o.draft_token = [next, wrong_sometimes](const std::vector<int32_t>& h) {
      return wrong_sometimes && h.size() % 3 == 0 ? int32_t{5} : next(h);
    };
    o.draft_tokens = setup.drafts;
    o.ignore_entry_drafts = setup.ignore_entry_drafts;
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

BatchResult run_batch(const Setup& setup, const std::vector<Request>& requests) {
  FakeStepRunner runner(options(setup));
  EngineOptions eo;
  eo.scheduler.draft_max_decodes = setup.draft_max_decodes;
  eo.scheduler.step_token_budget = setup.step_token_budget;
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

// The scheduler asked only for drafts the runner could verify (every sequence holds N drafts
// here, and blocks are plenty): none past the context, and each step's rows inside its budget.
void check_asked(const BatchResult& r, uint32_t budget) {
  for (size_t i = 0; i < r.records.size(); ++i) {
    CAPTURE(i);
    CHECK(r.records[i].verified == r.records[i].asked);
    CHECK(r.records[i].tokens <= budget);
  }
}

// Tokens left after the first, emitted in runs of up to 1 + n: the steps after the prompt's.
int64_t runs_of(int64_t tokens, uint32_t n) { return (tokens + n) / (n + 1); }

TEST_CASE("with N MTP drafts every sequence of a batch streams what it streams without, in fewer steps") {
  // Ends of every kind, each landing at different places of a verified run: the end of sentence
  // after either reply, max_tokens odd and even, stop strings.
  const std::vector<Request> requests = {
      {0, 3, 100, {}}, {1, 5, 100, {}}, {0, 4, 7, {}}, {0, 6, 8, {}},
      {1, 3, 100, {"+0="}}, {1, 7, 100, {"4+"}}, {1, 4, 9, {}}, {0, 9, 1, {}},
      {0, 121, 100, {}},  // max_tokens capped at the context's 7 free positions: no draft past its end
  };
  const BatchResult plain = run_batch({}, requests);
  CHECK(plain.drafts.proposed == 0);
  CHECK(plain.metric_proposed == 0);
  CHECK(plain.runs[0].completion_tokens == 40);
  CHECK(plain.runs[4].reason == FinishReason::kStop);
  CHECK(plain.runs[8].completion_tokens == 7);
  for (uint32_t n : {1u, 2u, 3u, 8u}) {
    for (Drafter d : {Drafter::kAlwaysRight, Drafter::kWrongEveryThird}) {
      CAPTURE(n);
      CAPTURE(static_cast<int>(d));
      const BatchResult mtp = run_batch({d, n}, requests);
      check_same(mtp, plain);
      check_asked(mtp, 512);
      CHECK(mtp.drafts.proposed > 0);
      CHECK(mtp.metric_proposed == mtp.drafts.proposed);
      CHECK(mtp.metric_accepted == mtp.drafts.accepted);
      if (d == Drafter::kAlwaysRight) {
        CHECK(mtp.drafts.accepted == mtp.drafts.proposed);
        CHECK(mtp.drafts.proposed_at[n - 1] > 0);       // the deepest draft is verified too
        CHECK(mtp.steps * (n + 1) < 2 * plain.steps);  // about 1 / (1 + N) of the decode steps
      } else {
        CHECK(mtp.drafts.accepted < mtp.drafts.proposed);
        CHECK(mtp.drafts.accepted > 0);
        CHECK(mtp.steps < plain.steps);
      }
    }
  }
}

TEST_CASE("max_tokens is never exceeded: a sequence with k tokens left verifies at most k - 1 drafts") {
  for (uint32_t n : {1u, 2u, 3u}) {
    for (int64_t max_tokens = 1; max_tokens <= 13; ++max_tokens) {
      CAPTURE(n);
      CAPTURE(max_tokens);
      const std::vector<Request> one = {{0, 3, max_tokens, {}}};
      const BatchResult plain = run_batch({}, one);
      const BatchResult mtp = run_batch({Drafter::kAlwaysRight, n}, one);
      check_same(mtp, plain);
      check_asked(mtp, 512);
      CHECK(mtp.runs[0].completion_tokens == max_tokens);
      CHECK(mtp.runs[0].text == std::string(static_cast<size_t>(max_tokens), '7') + "|");
      // The prompt's step samples the first token; each later step verifies min(N, left - 1)
      // drafts and emits min(1 + N, left) tokens.
      const int64_t decode_steps = runs_of(max_tokens - 1, n);
      CHECK(mtp.drafts.proposed == static_cast<uint64_t>(max_tokens - 1 - decode_steps));
      CHECK(mtp.steps == static_cast<size_t>(1 + decode_steps));
    }
  }
}

TEST_CASE("a runner that emits past max_tokens is cut there: the tokens after it are never streamed") {
  // The runner verifies all N drafts whatever the entry asked: a run of accepted tokens goes
  // past max_tokens, and the engine must stop at it.
  for (uint32_t n : {2u, 3u}) {
    for (int64_t max_tokens = 1; max_tokens <= 9; ++max_tokens) {
      CAPTURE(n);
      CAPTURE(max_tokens);
      const std::vector<Request> one = {{0, 3, max_tokens, {}}, {1, 4, max_tokens, {}}};
      const BatchResult plain = run_batch({}, one);
      Setup greedy{Drafter::kAlwaysRight, n};
      greedy.ignore_entry_drafts = true;
      const BatchResult mtp = run_batch(greedy, one);
      check_same(mtp, plain);
      CHECK(mtp.runs[0].completion_tokens == max_tokens);
      CHECK(mtp.runs[0].reason == FinishReason::kLength);
      // Where the last run starts with 2..N tokens left, the runner accepted more drafts than
      // the two sequences asked for: the cut was the engine's.
      const auto asked = static_cast<uint64_t>(2 * (max_tokens - 1 - runs_of(max_tokens - 1, n)));
      if ((max_tokens - 1) % (n + 1) >= 2) CHECK(mtp.drafts.accepted > asked);
    }
  }
}

TEST_CASE("a stop string or the end of sentence inside a run of accepted drafts drops the tokens after it") {
  // Stop strings ending at every token of reply 1's reasoning and answer, so with N = 3 and 5
  // (runs of 4 and 6 tokens) many fall inside a run; the end of sentence after reply 0's 40
  // tokens is inside a run for N = 2 and 5.
  const std::vector<Request> requests = {
      {1, 3, 100, {"1:"}}, {1, 3, 100, {"4+"}},   {1, 3, 100, {"+8"}},  {1, 3, 100, {"8+"}},
      {1, 3, 100, {"+0"}}, {1, 3, 100, {"=1"}},   {1, 3, 100, {"12"}},  {1, 3, 100, {"69"}},
      {1, 3, 100, {"91"}}, {0, 3, 100, {}},       {1, 3, 100, {"2\n"}}, {1, 3, 100, {"nothing"}},
  };
  const BatchResult plain = run_batch({}, requests);
  for (const Run& r : plain.runs) CHECK(r.reason == FinishReason::kStop);
  CHECK(plain.runs[1].text == "1: |");  // cut before the stop string
  for (uint32_t n : {2u, 3u, 5u}) {
    CAPTURE(n);
    const BatchResult mtp = run_batch({Drafter::kAlwaysRight, n}, requests);
    check_same(mtp, plain);
    check_asked(mtp, 512);
    CHECK(mtp.drafts.accepted == mtp.drafts.proposed);
    const BatchResult partly = run_batch({Drafter::kWrongEveryThird, n}, requests);
    check_same(partly, plain);
  }
}

TEST_CASE("at the context's end no draft is asked past it") {
  // Prompts leaving 1..7 positions of the 128-token context, with max_tokens above that.
  std::vector<Request> requests;
  for (size_t prompt = 121; prompt <= 127; ++prompt) requests.push_back({0, prompt, 100, {}});
  const BatchResult plain = run_batch({}, requests);
  for (size_t i = 0; i < requests.size(); ++i) CHECK(plain.runs[i].completion_tokens == static_cast<int64_t>(128 - requests[i].prompt));
  for (uint32_t n : {3u, 8u}) {
    CAPTURE(n);
    const BatchResult mtp = run_batch({Drafter::kAlwaysRight, n}, requests);
    check_same(mtp, plain);
    check_asked(mtp, 512);
    CHECK(mtp.drafts.proposed > 0);
    // A runner verifying every draft it can: its own context check and the engine's cut agree.
    Setup all{Drafter::kAlwaysRight, n};
    all.ignore_entry_drafts = true;
    check_same(run_batch(all, requests), plain);
  }
}

TEST_CASE("a step's drafts stay inside its token budget") {
  // Four sequences and N = 3: 16 rows a step unbounded; a budget of 6 leaves two drafts for the
  // first, none for the rest, and the prompts wait for rows.
  const std::vector<Request> requests = {{0, 3, 30, {}}, {1, 4, 100, {}}, {0, 5, 20, {}}, {1, 3, 100, {"=1"}}};
  const BatchResult plain = run_batch({}, requests);
  Setup tight{Drafter::kAlwaysRight, 3};
  tight.step_token_budget = 6;
  const BatchResult mtp = run_batch(tight, requests);
  check_same(mtp, plain);
  check_asked(mtp, 6);
  CHECK(mtp.drafts.proposed > 0);
}

TEST_CASE("drafts are verified only while at most draft_max_decodes sequences decode") {
  // Three sequences decode together for about 10 tokens, then one goes on alone to 40.
  const std::vector<Request> requests = {{0, 3, 100, {}}, {0, 3, 10, {}}, {0, 3, 11, {}}};
  const BatchResult plain = run_batch({}, requests);
  for (uint32_t n : {1u, 3u}) {
    CAPTURE(n);
    const BatchResult limited = run_batch({Drafter::kAlwaysRight, n, 2}, requests);
    check_same(limited, plain);
    CHECK(limited.drafts.proposed > 0);  // the lone sequence drafts
    for (const auto& r : limited.records) {
      if (r.entries - r.prefill_entries > 2) CHECK(r.verified == 0);
    }
    // Unlimited, the three-sequence steps verify drafts too: more of them than limited.
    const BatchResult unlimited = run_batch({Drafter::kAlwaysRight, n}, requests);
    check_same(unlimited, plain);
    CHECK(unlimited.drafts.proposed > limited.drafts.proposed);
    CHECK(run_batch({Drafter::kAlwaysRight, n, 0}, requests).drafts.proposed == 0);
  }
}

TEST_CASE("a request cancelled while its sequence verifies drafts is dropped and its blocks freed") {
  Setup setup{Drafter::kAlwaysRight, 3};
  FakeStepRunnerOptions o = options(setup);
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
  for (int i = 0; i < 5000 && runner.draft_stats().accepted < 8; ++i) std::this_thread::sleep_for(std::chrono::milliseconds(1));
  REQUIRE(runner.draft_stats().accepted >= 8);  // both sequences are verifying drafts
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
