// Pipeline stages (exec/stage.h, exec/pipeline.h): the model's layers split over several
// executors, each holding only its layers' weights and KV cache, must give the single-executor
// logits bit for bit (the same kernels run the same ops on the same rows) and the same greedy
// tokens, for every architecture of the tiny presets, with stages on one device or on two
// logical devices (two Vulkan contexts on the same physical device).
#include <doctest/doctest.h>

#include <cstring>
#include <memory>
#include <vector>

#include "compiler/compiler.h"
#include "compiler/plan_test_util.h"
#include "exec/model.h"
#include "exec/pipeline.h"
#include "exec/session.h"
#include "exec/stage.h"
#include "harness/kernel_harness.h"
#include "import/import_test_util.h"

namespace r1vk {
namespace {

struct Run {
  std::vector<float> logits;    // prefill rows, then one row per decode step
  std::vector<int32_t> greedy;  // tokens generated greedily after the prompt
};

// Prefill `tokens[:prefill]`, decode the rest one by one, then 5 greedy steps.
Run run_session(exec::Session& s, const std::vector<int32_t>& tokens, size_t prefill) {
  Run r;
  REQUIRE_MESSAGE(s.feed(std::span(tokens).subspan(0, prefill), {}, &r.logits).ok(), "prefill");
  for (size_t i = prefill; i < tokens.size(); ++i) REQUIRE(s.feed(std::span(tokens).subspan(i, 1), {}, &r.logits).ok());
  r.greedy.push_back(s.last_token());
  for (int i = 0; i < 5; ++i) {
    auto t = s.step({});
    REQUIRE_MESSAGE(t.ok(), (t.ok() ? std::string() : t.error().message()));
    r.greedy.push_back(*t);
  }
  return r;
}

struct Stages {
  std::vector<std::unique_ptr<exec::Model>> models;
  std::shared_ptr<exec::Pipeline> pipeline;
};

// The plan at `path` split into `ratios` stages, stage i on contexts[i], each executor with `bo`.
Stages open_stages(const std::string& path, std::span<vk::Context* const> contexts, std::span<const double> ratios,
                   exec::BatchOptions bo = {.keep_logits = true}) {
  Stages st;
  std::vector<std::shared_ptr<exec::BatchExecutor>> executors;
  std::vector<exec::LayerRange> layers;
  for (size_t i = 0; i < ratios.size(); ++i) {
    auto plan = plan::LoadedPlan::open(path);
    REQUIRE(plan.ok());
    if (i == 0) {
      auto split = exec::split_layers(exec::program_layers(plan->manifest().main), ratios);
      REQUIRE(split.ok());
      layers = *split;
    }
    exec::ModelOptions mo;
    auto ops = exec::stage_ops(plan->manifest().main, layers[i]);
    REQUIRE(ops.ok());
    mo.stage = *ops;
    auto model = exec::Model::load(*contexts[i], std::move(plan).value(), mo);
    REQUIRE_MESSAGE(model.ok(), (model.ok() ? std::string() : model.error().message()));
    st.models.push_back(std::move(model).value());
    auto e = exec::BatchExecutor::create(*st.models.back(), bo);
    REQUIRE(e.ok());
    executors.push_back(std::move(e).value());
  }
  auto first = executors.front();
  executors.erase(executors.begin());
  auto p = exec::Pipeline::create(first, std::make_unique<exec::LocalStageChain>(std::move(executors)));
  REQUIRE(p.ok());
  st.pipeline = std::move(p).value();
  return st;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

}  // namespace

TEST_CASE("layer ranges split into stages of consecutive ops") {
  auto s = exec::split_layers(61, std::vector<double>{1, 1, 1, 1});
  REQUIRE(s.ok());
  REQUIRE(s->size() == 4);
  CHECK((*s)[0].first == 0);
  CHECK((*s)[3].end == 61);
  for (size_t i = 1; i < s->size(); ++i) CHECK((*s)[i].first == (*s)[i - 1].end);
  auto uneven = exec::split_layers(4, std::vector<double>{1, 3});
  REQUIRE(uneven.ok());
  CHECK((*uneven)[0].end == 1);
  auto tiny = exec::split_layers(3, std::vector<double>{100, 1, 1});  // every stage keeps a layer
  REQUIRE(tiny.ok());
  CHECK((*tiny)[0].end == 1);
  CHECK((*tiny)[1].end == 2);
  CHECK_FALSE(exec::split_layers(2, std::vector<double>{1, 1, 1}).ok());
  CHECK_FALSE(exec::split_layers(2, std::vector<double>{1, 0}).ok());

  plan::Program p;
  for (const char* label : {"embed", "layers.0.a", "layers.0.b", "layers.1.a", "layers.10.a", "final_norm", "lm_head"}) {
    plan::Op op;
    op.label = label;
    p.ops.push_back(op);
  }
  CHECK(exec::op_layer(p.ops[4]) == 10);
  CHECK(exec::op_layer(p.ops[0]) == -1);
  CHECK(exec::program_layers(p) == 11);
  auto first = exec::stage_ops(p, {0, 1});
  REQUIRE(first.ok());
  CHECK(first->first == 0);
  CHECK(first->end == 3);
  auto last = exec::stage_ops(p, {1, 11});
  REQUIRE(last.ok());
  CHECK(last->first == 3);
  CHECK(last->end == 7);
  CHECK_FALSE(exec::stage_ops(p, {1, 1}).ok());
  std::swap(p.ops[1], p.ops[3]);  // layer 1 before layer 0: no contiguous split
  CHECK_FALSE(exec::stage_ops(p, {0, 1}).ok());
}

TEST_CASE("pipeline stages give the single-device logits bit for bit and the same greedy tokens") {
  vk::ContextOptions co;
  co.validation = true;
  co.disk_pipeline_cache = false;
  auto second = vk::Context::create(co);
  REQUIRE(second.ok());
  for (const char* preset : {"tiny-r1", "tiny-v2-lite", "tiny-qwen2", "tiny-llama3"}) {
    CAPTURE(preset);
    testing::TempDir dir;
    testing::generate(dir.path(), testing::preset(preset), 1);
    testing::TempPlanPath path(std::string("pipeline_") + preset);
    CompileOptions opt;
    opt.weights = "f16";
    opt.max_context = 32;
    opt.prefill_chunk = 8;
    auto compiled = compile_checkpoint(dir.str(), opt, path.str());
    REQUIRE_MESSAGE(compiled.ok(), (compiled.ok() ? std::string() : compiled.error().message()));
    const std::vector<int32_t> tokens = {0, 7, 300, 41, 2, 260, 9, 123, 5, 77, 18};

    auto plan = plan::LoadedPlan::open(path.str());
    REQUIRE(plan.ok());
    auto whole = exec::Model::load(test::context(), std::move(plan).value());
    REQUIRE(whole.ok());
    exec::SessionOptions so;
    so.keep_logits = true;
    auto ws = exec::Session::create(**whole, so);
    REQUIRE(ws.ok());
    const Run want = run_session(**ws, tokens, 6);
    // Rewound to 3 and fed 3 tokens again (stages must replay the rewind in step).
    std::vector<float> want_again;
    REQUIRE((*ws)->rewind(3).ok());
    REQUIRE((*ws)->feed(std::span(tokens).subspan(3, 3), {}, &want_again).ok());

    const int64_t layers = exec::program_layers((*whole)->manifest().main);
    std::vector<std::vector<double>> splits = {{1, 1}, {1, 3}};
    if (layers >= 3) splits.push_back({1, 1, 1});
    for (const auto& ratios : splits) {
      CAPTURE(ratios.size());
      CAPTURE(ratios.back());
      // Two stages: two logical devices; three: the shared context for every stage.
      std::vector<vk::Context*> ctxs = {&test::context(), second->get(), &test::context()};
      if (ratios.size() == 3) ctxs[1] = &test::context();
      Stages st = open_stages(path.str(), ctxs, ratios);
      // Each stage holds part of the weights.
      for (const auto& m : st.models) CHECK(m->weights().device_bytes() < (*whole)->weights().device_bytes());
      auto s = exec::Session::create_in(*st.models[0], st.pipeline);
      REQUIRE(s.ok());
      const Run got = run_session(**s, tokens, 6);
      CHECK(same_bits(got.logits, want.logits));
      CHECK(got.greedy == want.greedy);
      CHECK(st.pipeline->rows_stepped() == tokens.size() + 5);

      std::vector<float> again;
      REQUIRE((*s)->rewind(3).ok());
      REQUIRE((*s)->feed(std::span(tokens).subspan(3, 3), {}, &again).ok());
      CHECK(same_bits(again, want_again));
    }
  }
  CHECK(test::validation_errors() == 0);
  CHECK((*second)->validation_errors() == 0);
}

// Several sequences per step, cut into micro-batches that flow through the stages (overlapped on
// two logical devices, one after the other on a shared context): every sequence's greedy tokens
// equal the single-device batched run's, through a mixed prefill step and decode steps.
TEST_CASE("micro-batched pipeline steps give the single-device batched tokens") {
  vk::ContextOptions co;
  co.validation = true;
  co.disk_pipeline_cache = false;
  auto second = vk::Context::create(co);
  REQUIRE(second.ok());
  auto third = vk::Context::create(co);
  REQUIRE(third.ok());
  testing::TempDir dir;
  testing::generate(dir.path(), testing::preset("tiny-r1"), 1);
  testing::TempPlanPath path("pipeline_micro");
  CompileOptions opt;
  opt.weights = "f16";
  opt.max_context = 32;
  opt.prefill_chunk = 16;
  auto compiled = compile_checkpoint(dir.str(), opt, path.str());
  REQUIRE_MESSAGE(compiled.ok(), (compiled.ok() ? std::string() : compiled.error().message()));
  const std::vector<std::vector<int32_t>> prompts = {{0, 7, 300}, {41, 2}, {260, 9, 123, 5}, {77}, {18, 19, 20}};
  exec::BatchOptions bo;
  bo.max_batch = static_cast<uint32_t>(prompts.size());

  // Each step's tokens per sequence: the prompts in one step, then 6 decode steps of all.
  auto run = [&](exec::SequenceExecutor& e) {
    std::vector<exec::SeqId> seqs;
    std::vector<exec::StepEntry> entries(prompts.size());
    for (size_t i = 0; i < prompts.size(); ++i) {
      auto s = e.add_sequence({});
      REQUIRE(s.ok());
      entries[i].seq = *s;
      entries[i].tokens = prompts[i];
    }
    std::vector<std::vector<int32_t>> out;
    for (int step = 0; step < 7; ++step) {
      auto t = e.step(entries, nullptr);
      REQUIRE_MESSAGE(t.ok(), (t.ok() ? std::string() : t.error().message()));
      out.push_back(*t);
      for (auto& en : entries) en.tokens = {};
    }
    return out;
  };
  auto plan = plan::LoadedPlan::open(path.str());
  REQUIRE(plan.ok());
  auto whole = exec::Model::load(test::context(), std::move(plan).value());
  REQUIRE(whole.ok());
  auto single = exec::BatchExecutor::create(**whole, bo);
  REQUIRE(single.ok());
  const auto want = run(**single);

  // Two and three stages on contexts of their own (overlapped), three on one shared context.
  struct Config {
    size_t stages;
    bool shared;
  };
  for (const Config c : {Config{2, false}, Config{3, false}, Config{3, true}}) {
    const size_t stages = c.stages;
    const bool shared = c.shared;
    CAPTURE(stages);
    CAPTURE(shared);
    std::vector<vk::Context*> ctxs = {&test::context(), second->get(), third->get()};
    if (shared) ctxs = {&test::context(), &test::context(), &test::context()};
    std::vector<double> ratios(stages, 1.0);
    Stages st = open_stages(path.str(), ctxs, ratios, bo);
    auto* chain = st.pipeline.get();
    for (uint32_t m : {1u, 0u}) {  // off, one per stage
      CAPTURE(m);
      chain->set_micro_batches(m);
      const uint64_t before = chain->micro_batches_run();
      const uint64_t steps = chain->steps();
      CHECK(run(*chain) == want);
      CHECK(chain->micro_batches_run() - before == (chain->steps() - steps) * (m == 1 ? 1 : stages));
      for (exec::SeqId s = 0; s < prompts.size() * 2; ++s) (void)chain->free_sequence(s);
    }
    // Utilisation is measured: every stage was busy for part of the steps' wall time.
    for (double sec : chain->stage_seconds()) CHECK(sec > 0);
    CHECK(chain->step_seconds() > 0);
  }
  CHECK(test::validation_errors() == 0);
  CHECK((*second)->validation_errors() == 0);
  CHECK((*third)->validation_errors() == 0);
}

}  // namespace r1vk
