// BatchExecutor against the batch-of-one path (exec::Session): every sequence of a mixed batch
// (different prompt lengths, prefill chunks next to decode tokens, a sequence finishing and one
// joining mid-way) gets the logits and greedy tokens it gets alone, for every tiny preset
// architecture and weight format. Then the paged KV cache: exhaustion is a clean error that
// changes nothing, fork shares or copies blocks, free returns them, and prefix reuse gives the
// logits of recomputing the prefix.
#include <doctest/doctest.h>

#include <cmath>
#include <cstdio>
#include <map>
#include <vector>

#include "compiler/compiler.h"
#include "compiler/plan_test_util.h"
#include "exec/batch_executor.h"
#include "exec/model.h"
#include "exec/session.h"
#include "harness/kernel_harness.h"
#include "import/import_test_util.h"
#include "reference/logit_agreement.h"

namespace r1vk {
namespace {

constexpr double kMinCosine = 0.99999;

std::unique_ptr<exec::Model> load(const std::string& plan_path) {
  auto plan = plan::LoadedPlan::open(plan_path);
  REQUIRE(plan.ok());
  auto model = exec::Model::load(test::context(), std::move(plan).value());
  REQUIRE_MESSAGE(model.ok(), (model.ok() ? std::string() : model.error().message()));
  return std::move(model).value();
}

std::string compile_preset(const std::string& dir, const char* format, const testing::TempPlanPath& path) {
  CompileOptions opt;
  opt.weights = format;
  opt.max_context = 64;
  opt.prefill_chunk = 16;
  auto m = compile_checkpoint(dir, opt, path.str());
  REQUIRE_MESSAGE(m.ok(), (m.ok() ? std::string() : m.error().message()));
  return path.str();
}

// A sequence run alone: logits of every position (prompt, then each fed sampled token) and the
// greedy tokens.
struct Alone {
  std::vector<float> logits;
  std::vector<int32_t> generated;
};

Alone run_alone(exec::Model& model, const std::vector<int32_t>& prompt, int generate) {
  exec::SessionOptions so;
  so.keep_logits = true;
  auto s = exec::Session::create(model, so);
  REQUIRE(s.ok());
  Alone a;
  REQUIRE((*s)->feed(prompt, {}, &a.logits).ok());
  a.generated.push_back((*s)->last_token());
  for (int i = 1; i < generate; ++i) {
    auto t = (*s)->step({}, &a.logits);
    REQUIRE(t.ok());
    a.generated.push_back(*t);
  }
  return a;
}

void check_same(const std::vector<float>& want, const std::vector<float>& got, int64_t vocab) {
  REQUIRE(got.size() == want.size());
  const auto a = testing::compare_logits(want, got, vocab);
  CHECK(a.all_finite);
  CHECK(a.min_cosine >= kMinCosine);
  CHECK(a.argmax_match == 1.0);
}

exec::BatchExecutor::Entry feed(exec::SeqId s, std::span<const int32_t> tokens, bool sample = true) {
  exec::BatchExecutor::Entry e;
  e.seq = s;
  e.tokens = tokens;
  e.sample = sample;
  return e;
}

// The mixed schedule: A prefills in two chunks, B decodes next to A's second chunk and leaves
// after step 4, C joins at step 2, D at step 3; everyone decodes greedily to `generate` tokens.
// Without keep_logits only the tokens are compared: steps of more rows than the max batch then
// run the output head on the gathered sampled rows alone (ProgramBuffers::head_rows).
void check_mixed_batch(exec::Model& model, bool keep_logits = true) {
  const int64_t vocab = model.vocab_size();
  const std::vector<std::vector<int32_t>> prompts = {
      {0, 7, 300, 41, 2, 260, 9, 123, 5, 77}, {4, 19, 200}, {11, 3, 99, 8, 250, 1, 60}, {31, 5, 17, 2, 44}};
  const int generate = 6;
  std::vector<Alone> alone;
  for (const auto& p : prompts) alone.push_back(run_alone(model, p, generate));

  exec::BatchOptions bo;
  bo.max_batch = 4;
  bo.block_tokens = 4;  // small blocks: every sequence spans several, interleaved in the pool
  bo.keep_logits = keep_logits;
  auto ex = exec::BatchExecutor::create(model, bo);
  REQUIRE_MESSAGE(ex.ok(), (ex.ok() ? std::string() : ex.error().message()));
  exec::BatchExecutor& b = **ex;
  std::vector<exec::SeqId> id(4);
  std::vector<std::vector<float>> got(4);
  std::vector<std::vector<int32_t>> gen(4);
  std::vector<bool> active(4, false);
  // Runs one step and files each entry's logits rows and sampled token under its sequence.
  auto run = [&](const std::vector<std::pair<int, exec::BatchExecutor::Entry>>& es) {
    std::vector<exec::BatchExecutor::Entry> entries;
    for (const auto& e : es) entries.push_back(e.second);
    std::vector<float> logits;
    auto tokens = b.step(entries, keep_logits ? &logits : nullptr);
    REQUIRE_MESSAGE(tokens.ok(), (tokens.ok() ? std::string() : tokens.error().message()));
    size_t row = 0;
    for (size_t i = 0; i < es.size(); ++i) {
      const size_t k = entries[i].tokens.empty() ? 1 : entries[i].tokens.size();
      auto& g = got[static_cast<size_t>(es[i].first)];
      if (keep_logits) {
        g.insert(g.end(), logits.begin() + static_cast<std::ptrdiff_t>(row * vocab),
                 logits.begin() + static_cast<std::ptrdiff_t>((row + k) * vocab));
      }
      row += k;
      CHECK((*tokens)[i] == (entries[i].sample ? (*tokens)[i] : -1));
      if (entries[i].sample) gen[static_cast<size_t>(es[i].first)].push_back((*tokens)[i]);
    }
  };
  auto add = [&](int i) {
    auto s = b.add_sequence();
    REQUIRE(s.ok());
    id[static_cast<size_t>(i)] = *s;
    active[static_cast<size_t>(i)] = true;
  };
  const auto& pa = prompts[0];
  add(0);
  add(1);
  run({{0, feed(id[0], std::span(pa).subspan(0, 6), false)}, {1, feed(id[1], prompts[1])}});
  add(2);
  run({{0, feed(id[0], std::span(pa).subspan(6))}, {1, feed(id[1], {})}, {2, feed(id[2], prompts[2])}});
  add(3);
  run({{2, feed(id[2], {})}, {3, feed(id[3], prompts[3])}, {0, feed(id[0], {})}, {1, feed(id[1], {})}});
  for (int step = 0; step < 8; ++step) {
    std::vector<std::pair<int, exec::BatchExecutor::Entry>> es;
    for (int i = 0; i < 4; ++i) {
      if (active[static_cast<size_t>(i)] && gen[static_cast<size_t>(i)].size() < static_cast<size_t>(generate)) {
        es.push_back({i, feed(id[static_cast<size_t>(i)], {})});
      }
    }
    if (es.empty()) break;
    run(es);
    if (step == 0) {  // B leaves mid-batch; its blocks return to the pool
      const size_t before = b.free_blocks();
      REQUIRE(b.free_sequence(id[1]).ok());
      CHECK(b.free_blocks() > before);
      active[1] = false;
    }
  }
  for (size_t i = 0; i < 4; ++i) {
    CAPTURE(i);
    // B stopped early: compare the positions it ran.
    if (keep_logits) {
      const size_t rows = got[i].size() / static_cast<size_t>(vocab);
      std::vector<float> want(alone[i].logits.begin(), alone[i].logits.begin() + static_cast<std::ptrdiff_t>(rows * vocab));
      check_same(want, got[i], vocab);
    }
    std::vector<int32_t> want_gen(alone[i].generated.begin(), alone[i].generated.begin() + static_cast<std::ptrdiff_t>(gen[i].size()));
    CHECK(gen[i] == want_gen);
  }
  CHECK(gen[0].size() == static_cast<size_t>(generate));
}

TEST_CASE("every sequence of a mixed batch gets the logits it gets alone: every architecture and format") {
  for (const char* preset : {"tiny-r1", "tiny-v2-lite", "tiny-qwen2", "tiny-llama3"}) {
    testing::TempDir dir;
    testing::generate(dir.path(), testing::preset(preset), 1);
    for (const char* format : {"f32", "f16", "q8", "q4", "fp8"}) {
      CAPTURE(preset);
      CAPTURE(format);
      testing::TempPlanPath path(std::string("batch_") + preset + "_" + format);
      auto model = load(compile_preset(dir.str(), format, path));
      check_mixed_batch(*model);
    }
  }
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("without kept logits, the head runs on the sampled rows only and samples the same tokens") {
  // Steps of 9 and 12 rows with max batch 4: their head runs on the gathered sampled rows.
  for (const char* preset : {"tiny-v2-lite", "tiny-llama3"}) {
    testing::TempDir dir;
    testing::generate(dir.path(), testing::preset(preset), 1);
    for (const char* format : {"f16", "q4"}) {
      CAPTURE(preset);
      CAPTURE(format);
      testing::TempPlanPath path(std::string("batch_head_") + preset + "_" + format);
      auto model = load(compile_preset(dir.str(), format, path));
      check_mixed_batch(*model, /*keep_logits=*/false);
      // A batch-of-one session prefilling a prompt in chunks: the same token as with logits kept.
      const std::vector<int32_t> prompt = {0, 7, 300, 41, 2, 260, 9, 123, 5, 77, 4, 19, 200, 11, 3, 99, 8, 250, 1, 60};
      const Alone want = run_alone(*model, prompt, 4);
      auto s = exec::Session::create(*model);
      REQUIRE(s.ok());
      REQUIRE((*s)->feed(prompt, {}).ok());
      std::vector<int32_t> got = {(*s)->last_token()};
      for (int i = 1; i < 4; ++i) {
        auto t = (*s)->step({});
        REQUIRE(t.ok());
        got.push_back(*t);
      }
      CHECK(got == want.generated);
    }
  }
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("paged KV cache: exhaustion, fork, free and prefix reuse") {
  testing::TempDir dir;
  testing::generate(dir.path(), testing::preset("tiny-qwen2"), 1);
  testing::TempPlanPath path("batch_blocks");
  auto model = load(compile_preset(dir.str(), "f32", path));
  const int64_t vocab = model->vocab_size();
  const std::vector<int32_t> prompt = {5, 9, 200, 14, 3, 77, 301, 8, 66, 12};  // 2.5 blocks of 4

  exec::BatchOptions bo;
  bo.max_batch = 2;
  bo.block_tokens = 4;
  bo.kv_blocks = 5;
  bo.keep_logits = true;
  auto ex = exec::BatchExecutor::create(*model, bo);
  REQUIRE(ex.ok());
  exec::BatchExecutor& b = **ex;
  CHECK(b.total_blocks() == 5);

  SUBCASE("steps run the smallest power-of-two bucket, up to the plan's chunk") {
    const uint32_t chunk = b.max_step_tokens();
    REQUIRE(chunk > 4);
    CHECK(b.bucket_rows(1) == 1);
    CHECK(b.bucket_rows(3) == 4);  // above max_batch: a decode batch with a prompt chunk
    uint32_t below = 1;  // the largest power of two below the chunk
    while (2 * below < chunk) below *= 2;
    CHECK(b.bucket_rows(below) == below);
    CHECK(b.bucket_rows(below + 1) == chunk);
    CHECK(b.bucket_rows(chunk) == chunk);
  }

  SUBCASE("exhaustion is a clean error; freeing makes room") {
    auto a = b.add_sequence();
    auto c = b.add_sequence();
    REQUIRE(a.ok());
    REQUIRE(c.ok());
    REQUIRE(b.step(std::vector{feed(*a, prompt)}).ok());  // 3 blocks
    CHECK(b.free_blocks() == 2);
    auto full = b.step(std::vector{feed(*c, prompt)});    // needs 3, 2 free
    REQUIRE_FALSE(full.ok());
    CHECK(full.error().code() == ErrorCode::kOutOfRange);
    CHECK(full.error().message().find("KV cache full") != std::string::npos);
    CHECK(b.position(*c).value() == 0);
    CHECK(b.free_blocks() == 2);
    REQUIRE(b.free_sequence(*a).ok());
    CHECK(b.free_blocks() == 5);
    std::vector<float> logits;
    REQUIRE(b.step(std::vector{feed(*c, prompt)}, &logits).ok());
    check_same(run_alone(*model, prompt, 1).logits, logits, vocab);
  }

  SUBCASE("fork shares full blocks, copies a partial one; both branches equal recomputation") {
    auto a = b.add_sequence();
    REQUIRE(a.ok());
    REQUIRE(b.step(std::vector{feed(*a, prompt)}).ok());  // 3 blocks, the last partial
    auto f = b.fork_sequence(*a, 6);                       // shares block 0, copies block 1
    REQUIRE_MESSAGE(f.ok(), (f.ok() ? std::string() : f.error().message()));
    CHECK(b.free_blocks() == 1);
    CHECK(b.position(*f).value() == 6);
    const std::vector<int32_t> tail_a = {40, 41}, tail_f = {50, 51, 52};
    std::vector<float> la, lf;
    REQUIRE(b.step(std::vector{feed(*a, tail_a)}, &la).ok());
    REQUIRE(b.step(std::vector{feed(*f, tail_f)}, &lf).ok());
    std::vector<int32_t> full_a = prompt, full_f(prompt.begin(), prompt.begin() + 6);
    full_a.insert(full_a.end(), tail_a.begin(), tail_a.end());
    full_f.insert(full_f.end(), tail_f.begin(), tail_f.end());
    const auto want_a = run_alone(*model, full_a, 1).logits, want_f = run_alone(*model, full_f, 1).logits;
    check_same(std::vector<float>(want_a.end() - static_cast<std::ptrdiff_t>(2 * vocab), want_a.end()), la, vocab);
    check_same(std::vector<float>(want_f.end() - static_cast<std::ptrdiff_t>(3 * vocab), want_f.end()), lf, vocab);
    REQUIRE(b.free_sequence(*a).ok());
    REQUIRE(b.free_sequence(*f).ok());
    CHECK(b.free_blocks() == 5);
    CHECK_FALSE(b.fork_sequence(*a, 1).ok());  // freed
  }

  SUBCASE("prefix reuse: a new sequence with a cached prompt prefix equals recomputation") {
    auto a = b.add_sequence();
    REQUIRE(a.ok());
    REQUIRE(b.step(std::vector{feed(*a, prompt)}).ok());
    REQUIRE(b.free_sequence(*a).ok());  // its two full blocks stay cached
    std::vector<int32_t> p2(prompt.begin(), prompt.begin() + 8);
    p2.insert(p2.end(), {90, 91, 92});
    auto c = b.add_sequence(p2);
    REQUIRE(c.ok());
    CHECK(b.position(*c).value() == 8);
    std::vector<float> logits;
    REQUIRE(b.step(std::vector{feed(*c, std::span(p2).subspan(8))}, &logits).ok());
    const auto want = run_alone(*model, p2, 1).logits;
    check_same(std::vector<float>(want.end() - static_cast<std::ptrdiff_t>(3 * vocab), want.end()), logits, vocab);
    // A prompt that differs inside the first block reuses nothing.
    auto d = b.add_sequence(std::vector<int32_t>{5, 9, 201, 14, 3, 77, 301, 8, 1});
    REQUIRE(d.ok());
    CHECK(b.position(*d).value() == 0);
  }

  SUBCASE("bad entries are refused without a state change") {
    auto a = b.add_sequence();
    REQUIRE(a.ok());
    CHECK_FALSE(b.step(std::vector{feed(*a, {})}).ok());                            // nothing sampled yet
    CHECK_FALSE(b.step(std::vector{feed(*a, std::vector<int32_t>{1, -1})}).ok());  // bad token
    CHECK_FALSE(b.step(std::vector{feed(*a, prompt), feed(*a, prompt)}).ok());      // twice
    CHECK_FALSE(b.step(std::vector{feed(*a, std::vector<int32_t>(17, 1))}).ok());   // > 16 rows
    CHECK_FALSE(b.step(std::vector{feed(99, prompt)}).ok());                        // no such sequence
    CHECK(b.position(*a).value() == 0);
    CHECK(b.free_blocks() == 5);
  }
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("a seeded sequence samples the same tokens however its prompt was cut into chunks") {
  // Regression (breaker): every prompt chunk advanced the sampler's counter, so the server, whose
  // chunking depends on the other requests, gave one seed different texts under load.
  testing::TempDir dir;
  testing::generate(dir.path(), testing::preset("tiny-llama3"), 1);
  testing::TempPlanPath path("batch_seed_chunks");
  auto model = load(compile_preset(dir.str(), "f16", path));
  const std::vector<int32_t> prompt = {0, 7, 300, 41, 2, 260, 9, 123, 5, 77, 4, 19};
  exec::Sampling sampling;
  sampling.temperature = 1.5f;
  sampling.seed = 7;
  auto generate = [&](std::vector<size_t> cuts) {
    exec::BatchOptions bo;
    bo.max_batch = 1;
    auto ex = exec::BatchExecutor::create(*model, bo);
    REQUIRE(ex.ok());
    auto seq = (*ex)->add_sequence();
    REQUIRE(seq.ok());
    cuts.push_back(prompt.size());
    size_t at = 0;
    std::vector<int32_t> out;
    for (size_t cut : cuts) {
      exec::BatchExecutor::Entry e = feed(*seq, std::span(prompt).subspan(at, cut - at), cut == prompt.size());
      e.sampling = sampling;
      auto t = (*ex)->step(std::vector{e});
      REQUIRE(t.ok());
      if (cut == prompt.size()) out.push_back((*t)[0]);
      at = cut;
    }
    for (int i = 0; i < 12; ++i) {
      exec::BatchExecutor::Entry e = feed(*seq, {});
      e.sampling = sampling;
      auto t = (*ex)->step(std::vector{e});
      REQUIRE(t.ok());
      out.push_back((*t)[0]);
    }
    return out;
  };
  const std::vector<int32_t> whole = generate({});
  CHECK(generate({5}) == whole);
  CHECK(generate({1, 4, 9}) == whole);
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("a 512-row prefill chunk: the tokens of 16-row chunks; a timed-out step stays pending and is waited for") {
  // Regression: a 512-row step of the v2-lite shape outlasted the 120 s submit timeout on a
  // loaded lavapipe; finish() returned the error, the executor forgot the step, and destroying
  // it freed the arena under the running shaders (a segfault in the driver). Now the step stays
  // pending after a timeout and the destructor waits for it.
  testing::TempDir dir;
  testing::generate(dir.path(), testing::preset("tiny-v2-lite"), 1);
  testing::TempPlanPath small_path("batch_chunk16"), big_path("batch_chunk512");
  CompileOptions opt;
  opt.weights = "f16";
  opt.max_context = 520;
  opt.prefill_chunk = 16;
  REQUIRE(compile_checkpoint(dir.str(), opt, small_path.str()).ok());
  opt.prefill_chunk = 512;
  REQUIRE(compile_checkpoint(dir.str(), opt, big_path.str()).ok());
  auto small = load(small_path.str());
  auto big = load(big_path.str());
  std::vector<int32_t> prompt(512);
  for (size_t i = 0; i < prompt.size(); ++i) prompt[i] = static_cast<int32_t>((i * 37 + 11) % 500);
  const Alone want = run_alone(*small, prompt, 2);

  vk::Context& ctx = test::context();
  exec::BatchOptions bo;
  bo.max_batch = 1;
  auto ex = exec::BatchExecutor::create(*big, bo);
  REQUIRE(ex.ok());
  auto seq = (*ex)->add_sequence();
  REQUIRE(seq.ok());
  REQUIRE((*ex)->submit(std::vector{feed(*seq, prompt)}).ok());  // one 512-row step
  ctx.set_submit_timeout_ns(1);
  auto late = (*ex)->finish();
  ctx.set_submit_timeout_ns(0);
  REQUIRE_FALSE(late.ok());
  CHECK(late.error().message().find("timed out") != std::string::npos);
  CHECK((*ex)->pending());
  SUBCASE("finish again: the step's token") {
    auto got = (*ex)->finish();
    REQUIRE_MESSAGE(got.ok(), (got.ok() ? std::string() : got.error().message()));
    CHECK(got->at(0) == want.generated[0]);
    CHECK_FALSE((*ex)->pending());
  }
  SUBCASE("destroyed while the step runs: waited for, no use after free") { ex->reset(); }
  CHECK(test::validation_errors() == 0);
}

}  // namespace
}  // namespace r1vk
