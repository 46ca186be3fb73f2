// Routed experts beyond the device-memory budget (docs/offload.md): under budgets that keep all,
// half, a tenth and none of the experts on the device, the cold ones live in host memory and the
// same kernels read them in place, so the logits of prefill and decode are bit-identical to the
// unlimited run (tolerance 0: same kernels, same summation order, only the memory differs).
// A budget below the non-expert needs fails cleanly with the size it needs. The routers' use
// counters count every choice and rank experts through a calibration file. The executor memory
// estimate the load reserves covers what an executor allocates.
#include <doctest/doctest.h>

#include <algorithm>
#include <cstdint>
#include <cstdlib>
#include <cstring>
#include <filesystem>
#include <numeric>
#include <vector>

#include "compiler/compiler.h"
#include "compiler/plan_test_util.h"
#include "exec/batch_executor.h"
#include "exec/executor_memory.h"
#include "exec/model.h"
#include "exec/session.h"
#include "harness/kernel_harness.h"
#include "import/import_test_util.h"

namespace r1vk {
namespace {

namespace fs = std::filesystem;

fs::path source_dir() {
  const char* s = std::getenv("R1VK_SOURCE_DIR");
  return s ? fs::path(s) : fs::path(".");
}

std::string compile(const std::string& checkpoint, const char* format, const testing::TempPlanPath& path) {
  CompileOptions opt;
  opt.weights = format;
  opt.max_context = 64;
  opt.prefill_chunk = 8;
  auto m = compile_checkpoint(checkpoint, opt, path.str());
  REQUIRE_MESSAGE(m.ok(), (m.ok() ? std::string() : m.error().message()));
  return path.str();
}

Result<std::unique_ptr<exec::Model>> load(const std::string& plan_path, const exec::ModelOptions& mo = {},
                                          vk::Context* ctx = nullptr) {
  auto plan = plan::LoadedPlan::open(plan_path);
  REQUIRE(plan.ok());
  return exec::Model::load(ctx ? *ctx : test::context(), std::move(plan).value(), mo);
}

// Logits of a prompt fed as prefill chunks, then of decode steps on its greedy continuation.
std::vector<float> run(exec::Model& model) {
  exec::SessionOptions so;
  so.keep_logits = true;
  auto s = exec::Session::create(model, so);
  REQUIRE(s.ok());
  const std::vector<int32_t> prompt = {0, 7, 30, 41, 2, 26, 9, 12, 5, 17, 18};
  std::vector<float> logits;
  REQUIRE((*s)->feed(prompt, {}, &logits).ok());
  for (int i = 0; i < 4; ++i) REQUIRE((*s)->step({}, &logits).ok());
  return logits;
}

// Greedy generation of `steps` tokens after the same prompt, every step's logits kept.
struct Generation {
  std::vector<int32_t> tokens;
  std::vector<float> logits;
};
Generation generate(exec::Model& model, int steps) {
  exec::SessionOptions so;
  so.keep_logits = true;
  auto s = exec::Session::create(model, so);
  REQUIRE(s.ok());
  const std::vector<int32_t> prompt = {0, 7, 30, 41, 2, 26, 9, 12, 5, 17, 18};
  Generation g;
  REQUIRE((*s)->feed(prompt, {}, &g.logits).ok());
  g.tokens.push_back((*s)->last_token());
  for (int i = 0; i < steps; ++i) {
    auto t = (*s)->step({}, &g.logits);
    REQUIRE(t.ok());
    g.tokens.push_back(*t);
  }
  return g;
}

bool same_bits(const std::vector<float>& a, const std::vector<float>& b) {
  return a.size() == b.size() && std::memcmp(a.data(), b.data(), a.size() * sizeof(float)) == 0;
}

struct Plans {
  testing::TempDir dir;
  testing::TempPlanPath tiny_r1{"offload_tiny_r1"};
  testing::TempPlanPath demo{"offload_demo"};
  testing::TempPlanPath v2_lite{"offload_tiny_v2_lite"};
  Plans() {
    testing::generate(dir.path() / "r1", testing::preset("tiny-r1"));
    testing::generate(dir.path() / "v2", testing::preset("tiny-v2-lite"));
    compile((dir.path() / "r1").string(), "f16", tiny_r1);
    compile((dir.path() / "v2").string(), "q8", v2_lite);
    compile((source_dir() / "models/r1vk-demo").string(), "q4", demo);
  }
};

Plans& plans() {
  static Plans p;
  return p;
}

TEST_CASE("logits under budgets keeping 100%, 50%, 10% and 0% of the experts on the device equal the unlimited run") {
  for (const std::string& path : {plans().tiny_r1.str(), plans().v2_lite.str(), plans().demo.str()}) {
    CAPTURE(path);
    auto full = load(path);
    REQUIRE(full.ok());
    const exec::MemoryLayout whole = (*full)->memory_layout();
    REQUIRE(whole.experts.experts > 0);
    CHECK(whole.experts.experts_on_device == whole.experts.experts);
    CHECK((*full)->weights().host_bytes() == 0);
    const std::vector<float> want = run(**full);
    full->reset();

    for (double fraction : {1.0, 0.5, 0.1, 0.0}) {
      CAPTURE(fraction);
      exec::ModelOptions mo;
      mo.gpu_memory = whole.fixed + static_cast<uint64_t>(fraction * static_cast<double>(whole.experts.expert_bytes));
      const uint64_t host_before = test::context().allocator().host_bytes_allocated();
      auto m = load(path, mo);
      REQUIRE_MESSAGE(m.ok(), (m.ok() ? std::string() : m.error().message()));
      const exec::ExpertPlacement& p = (*m)->memory_layout().experts;
      // Every expert has the same size, so the count on the device is the fraction rounded down.
      CHECK(p.experts_on_device == static_cast<uint64_t>(fraction * static_cast<double>(p.experts) + 1e-9));
      CHECK((*m)->weights().host_bytes() >= p.expert_host_bytes());
      if (fraction < 1.0) CHECK(test::context().allocator().host_bytes_allocated() > host_before);
      CHECK(same_bits(run(**m), want));
    }
  }
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("a budget below the non-expert needs fails cleanly with the size it needs; exactly that size loads") {
  auto full = load(plans().tiny_r1.str());
  REQUIRE(full.ok());
  const uint64_t fixed = (*full)->memory_layout().fixed;
  full->reset();
  exec::ModelOptions mo;
  mo.gpu_memory = fixed - 1;
  auto small = load(plans().tiny_r1.str(), mo);
  REQUIRE_FALSE(small.ok());
  CHECK(small.error().code() == ErrorCode::kOutOfBudget);
  CHECK(small.error().message().find("at least " + std::to_string(fixed) + " bytes") != std::string::npos);
  CHECK(small.error().message().find("non-expert weights") != std::string::npos);
  mo.gpu_memory = fixed;
  auto exact = load(plans().tiny_r1.str(), mo);
  REQUIRE(exact.ok());
  CHECK((*exact)->memory_layout().experts.experts_on_device == 0);
}

TEST_CASE("under a context's hard budget the experts that do not fit go to host memory and a session still runs") {
  auto full = load(plans().demo.str());
  REQUIRE(full.ok());
  const exec::MemoryLayout whole = (*full)->memory_layout();
  const std::vector<float> want = run(**full);
  full->reset();

  vk::ContextOptions co;
  co.disk_pipeline_cache = false;
  co.validation = true;
  co.allocator.budget_bytes = whole.fixed + whole.experts.expert_bytes / 2;
  auto ctx = vk::Context::create(co);
  REQUIRE(ctx.ok());
  {
    auto m = load(plans().demo.str(), {}, ctx->get());
    REQUIRE_MESSAGE(m.ok(), (m.ok() ? std::string() : m.error().message()));
    const exec::ExpertPlacement& p = (*m)->memory_layout().experts;
    CHECK(p.experts_on_device > 0);
    CHECK(p.experts_on_device < p.experts);
    CHECK(same_bits(run(**m), want));
    CHECK((*ctx)->allocator().bytes_allocated() <= co.allocator.budget_bytes);
    CHECK((*ctx)->allocator().host_bytes_allocated() >= p.expert_host_bytes());
  }
  CHECK((*ctx)->validation_errors() == 0);
}

TEST_CASE("the executor estimate the load reserves covers what BatchExecutor::create allocates") {
  auto m = load(plans().tiny_r1.str());
  REQUIRE(m.ok());
  for (uint32_t batch : {1u, 4u}) {
    CAPTURE(batch);
    exec::BatchOptions bo;
    bo.max_batch = batch;
    const uint64_t estimate = exec::executor_device_bytes(**m, bo);
    const uint64_t before = test::context().allocator().bytes_in_use();
    auto ex = exec::BatchExecutor::create(**m, bo);
    REQUIRE(ex.ok());
    const uint64_t actual = test::context().allocator().bytes_in_use() - before;
    CHECK(estimate >= actual);
    CHECK(estimate <= actual + actual / 20 + 8192);  // not wildly conservative either
  }
}

TEST_CASE("the routers' use counters count top_k choices per token and MoE layer, and rank experts hot-first") {
  auto m = load(plans().demo.str());
  REQUIRE(m.ok());
  auto zero = (*m)->read_expert_counts();
  REQUIRE(zero.ok());
  REQUIRE(!zero->empty());
  for (const auto& [op, c] : *zero) CHECK(std::accumulate(c.begin(), c.end(), uint64_t{0}) == 0);
  (void)run(**m);  // 11 prompt tokens, then 4 decode steps: 15 routed rows per layer
  auto counts = (*m)->read_expert_counts();
  REQUIRE(counts.ok());
  size_t main_ops = 0;
  for (const auto& [op, c] : *counts) {
    CAPTURE(op);
    if (op.rfind("mtp:", 0) == 0) continue;  // the MTP layer runs only when speculating
    ++main_ops;
    CHECK(std::accumulate(c.begin(), c.end(), uint64_t{0}) == 15 * 2);  // top_k = 2
  }
  CHECK(main_ops == 3);

  testing::TempPlanPath file("offload_counts");
  REQUIRE(exec::save_expert_counts(file.str(), *counts, 15).ok());
  exec::ModelOptions mo;
  mo.expert_counts_path = file.str();
  mo.gpu_memory = (*m)->memory_layout().fixed + (*m)->memory_layout().experts.expert_bytes / 2;
  const std::vector<float> want = run(**m);
  m->reset();
  auto ranked = load(plans().demo.str(), mo);
  REQUIRE_MESSAGE(ranked.ok(), (ranked.ok() ? std::string() : ranked.error().message()));
  const auto& order = (*ranked)->ranked_experts();
  REQUIRE(!order.empty());
  const auto count_of = [&](const exec::ExpertUnit& u) {
    const auto& prog = u.program == 0 ? (*ranked)->manifest().main : (*ranked)->manifest().mtp;
    return counts->at(exec::expert_op_key(u.program, prog.ops[u.op]))[u.expert];
  };
  for (size_t i = 1; i < order.size(); ++i) CHECK(count_of(order[i - 1]) >= count_of(order[i]));
  CHECK(same_bits(run(**ranked), want));
  // The hottest expert is on the device, the coldest in host memory.
  const auto& on_host = (*ranked)->memory_layout().experts.tensor_on_host;
  CHECK_FALSE(on_host[static_cast<size_t>(order.front().gate_up)]);
  CHECK(on_host[static_cast<size_t>(order.back().gate_up)]);
  REQUIRE((*ranked)->reset_expert_counts().ok());
  auto cleared = (*ranked)->read_expert_counts();
  REQUIRE(cleared.ok());
  for (const auto& [op, c] : *cleared) CHECK(std::accumulate(c.begin(), c.end(), uint64_t{0}) == 0);
}

TEST_CASE("the expert cache swaps experts during generation without changing tokens or logits") {
  for (const std::string& path : {plans().demo.str(), plans().v2_lite.str()}) {
    CAPTURE(path);
    auto full = load(path);
    REQUIRE(full.ok());
    const exec::MemoryLayout whole = (*full)->memory_layout();
    const Generation want = generate(**full, 40);
    full->reset();

    // A quarter of the experts' bytes, all of it slots: the slots start with the first experts
    // by index and follow the routing from there.
    exec::ModelOptions mo;
    // (+256: a page of slots has an allocation's alignment slack, like every buffer)
    mo.gpu_memory = whole.fixed + whole.experts.expert_bytes / 4 + 256;
    mo.expert_cache_slots = exec::ModelOptions::kExpertCacheAll;
    mo.expert_cache.max_swaps_per_round = 2;
    auto m = load(path, mo);
    REQUIRE_MESSAGE(m.ok(), (m.ok() ? std::string() : m.error().message()));
    const exec::MemoryLayout& l = (*m)->memory_layout();
    CHECK(l.experts.experts_on_device == 0);
    CHECK(l.cache_slots == whole.experts.experts / 4);
    exec::ExpertCache* cache = (*m)->expert_cache();
    REQUIRE(cache != nullptr);
    const std::vector<int32_t> first = cache->occupants();
    const Generation got = generate(**m, 40);
    CHECK(got.tokens == want.tokens);
    CHECK(same_bits(got.logits, want.logits));
    // The generate loop never blocked on a swap copy or a snapshot: the copies went to the
    // transfer queue's timeline and the steps' own snapshots were read after the steps.
    const exec::ExpertCacheStats running = cache->stats();
    CHECK(running.host_waits == 0);
    CHECK(running.copy_submits > 0);
    CHECK(running.deferred == 0);
    CHECK(running.steps == 2 + 40);  // the prompt in two chunks of 8, then 40 decode steps
    // Rounds only where the placement changed; every other step went without a submit of its own.
    CHECK(running.rounds < running.steps);
    REQUIRE(cache->flush().ok());
    const exec::ExpertCacheStats st = cache->stats();
    CHECK(st.swaps > 0);
    CHECK(st.swaps >= st.copy_submits);
    CHECK(cache->occupants() != first);
    // Copies ran while later steps were submitted: those steps read the old placement.
    CHECK(st.overlapped > 0);
    CHECK(st.slot_uses > 0);
    CHECK(st.resident_uses == 0);
    CHECK(st.tokens == 11 + 40);  // every routed row of the main program, accounted once
    CHECK(st.hit_rate() > 0.0);
    CHECK(st.hit_rate() < 1.0);
    // The counters and the cache's accounting agree on what ran.
    auto counts = (*m)->read_expert_counts();
    REQUIRE(counts.ok());
    uint64_t main_uses = 0;
    for (const auto& [op, c] : *counts)
      if (op.rfind("mtp:", 0) != 0) main_uses += std::accumulate(c.begin(), c.end(), uint64_t{0});
    CHECK(st.uses == main_uses);
    REQUIRE((*m)->reset_expert_counts().ok());
    CHECK(cache->stats().uses == 0);
  }
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("expert cache edge cases: no slots, more slots than experts, more slots than the budget holds") {
  const std::string path = plans().demo.str();
  auto full = load(path);
  REQUIRE(full.ok());
  const exec::MemoryLayout whole = (*full)->memory_layout();
  const Generation want = generate(**full, 8);
  full->reset();

  SUBCASE("a budget that holds no expert makes no cache") {
    exec::ModelOptions mo;
    mo.gpu_memory = whole.fixed;
    mo.expert_cache_slots = exec::ModelOptions::kExpertCacheAll;
    auto m = load(path, mo);
    REQUIRE(m.ok());
    CHECK((*m)->memory_layout().cache_slots == 0);
    CHECK((*m)->expert_cache() == nullptr);
    CHECK(generate(**m, 8).tokens == want.tokens);
  }
  SUBCASE("0 slots: the fixed placement of the load") {
    exec::ModelOptions mo;
    mo.gpu_memory = whole.fixed + whole.experts.expert_bytes / 2;
    auto m = load(path, mo);
    REQUIRE(m.ok());
    CHECK((*m)->expert_cache() == nullptr);
    CHECK((*m)->memory_layout().experts.experts_on_device == whole.experts.experts / 2);
  }
  SUBCASE("slots for every expert: all of them in slots, nothing to swap") {
    exec::ModelOptions mo;
    mo.gpu_memory = whole.fixed + whole.experts.expert_bytes + 4096;
    mo.expert_cache_slots = 1000;
    auto m = load(path, mo);
    REQUIRE_MESSAGE(m.ok(), (m.ok() ? std::string() : m.error().message()));
    const exec::MemoryLayout& l = (*m)->memory_layout();
    CHECK(l.cache_slots == whole.experts.experts);
    CHECK(l.experts.experts_on_device == 0);
    const Generation got = generate(**m, 8);
    CHECK(got.tokens == want.tokens);
    CHECK(same_bits(got.logits, want.logits));
    REQUIRE((*m)->expert_cache()->flush().ok());
    const exec::ExpertCacheStats st = (*m)->expert_cache()->stats();
    CHECK(st.swaps == 0);
    CHECK(st.uses > 0);
    CHECK(st.hit_rate() == 1.0);
    // Nothing ever moves, so no step needed a round: the counters came from the snapshots at
    // the end of the steps' own command buffers, and still cover every routed row.
    CHECK(st.rounds == 0);
    CHECK(st.copy_submits == 0);
    CHECK(st.tokens == 11 + 8);
  }
  SUBCASE("more slots than an explicit budget holds fail naming the cache") {
    exec::ModelOptions mo;
    mo.gpu_memory = whole.fixed + whole.experts.expert_bytes / 4;
    mo.expert_cache_slots = static_cast<int64_t>(whole.experts.experts);
    auto m = load(path, mo);
    REQUIRE_FALSE(m.ok());
    CHECK(m.error().code() == ErrorCode::kOutOfBudget);
    CHECK(m.error().message().find("expert cache of " + std::to_string(whole.experts.experts) + " slots") != std::string::npos);
  }
  CHECK(test::validation_errors() == 0);
}

// Main-program units (indexes into the cache's unit order, ranked_experts()) whose counters
// differ between `before` and `after`: the experts the steps in between chose.
std::vector<int32_t> chosen_units(const exec::Model& m, const exec::ExpertCounts& before, const exec::ExpertCounts& after) {
  std::vector<int32_t> out;
  const std::vector<exec::ExpertUnit>& units = m.ranked_experts();
  for (size_t i = 0; i < units.size(); ++i) {
    if (units[i].program != 0) continue;
    const std::string key = exec::expert_op_key(0, m.manifest().main.ops[units[i].op]);
    const uint64_t was = before.count(key) ? before.at(key)[units[i].expert] : 0;
    if (after.at(key)[units[i].expert] != was) out.push_back(static_cast<int32_t>(i));
  }
  return out;
}

bool holds(const std::vector<int32_t>& occupants, int32_t unit) {
  return std::find(occupants.begin(), occupants.end(), unit) != occupants.end();
}

TEST_CASE("expert cache in-step copies keep tokens and logits bit-identical to all experts resident and to none") {
  for (const std::string& path : {plans().demo.str(), plans().v2_lite.str()}) {
    CAPTURE(path);
    auto full = load(path);
    REQUIRE(full.ok());
    const exec::MemoryLayout whole = (*full)->memory_layout();
    const Generation want = generate(**full, 40);
    full->reset();
    {
      exec::ModelOptions mo;
      mo.gpu_memory = whole.fixed;  // every expert read in place from host memory
      auto host = load(path, mo);
      REQUIRE(host.ok());
      REQUIRE((*host)->memory_layout().experts.experts_on_device == 0);
      const Generation got = generate(**host, 40);
      CHECK(got.tokens == want.tokens);
      CHECK(same_bits(got.logits, want.logits));
    }
    // A quarter of the experts' bytes as slots, filled by the steps themselves.
    exec::ModelOptions mo;
    mo.gpu_memory = whole.fixed + whole.experts.expert_bytes / 4 + 256;
    mo.expert_cache_slots = exec::ModelOptions::kExpertCacheAll;
    mo.expert_cache.in_step_copies = true;
    mo.expert_cache.max_swaps_per_round = 2;
    auto m = load(path, mo);
    REQUIRE_MESSAGE(m.ok(), (m.ok() ? std::string() : m.error().message()));
    exec::ExpertCache* cache = (*m)->expert_cache();
    REQUIRE(cache != nullptr);
    CHECK(cache->in_step_copies());
    // No calibration file: the cache starts empty.
    for (int32_t o : cache->occupants()) CHECK(o == -1);
    const Generation got = generate(**m, 40);
    CHECK(got.tokens == want.tokens);
    CHECK(same_bits(got.logits, want.logits));
    REQUIRE(cache->flush().ok());
    const exec::ExpertCacheStats st = cache->stats();
    CHECK(st.fills > 0);
    CHECK(st.fill_bytes > 0);
    CHECK(st.slot_uses >= st.fills);
    CHECK(st.tokens == 11 + 40);
    CHECK(st.hit_rate() > 0.0);
    auto counts = (*m)->read_expert_counts();
    REQUIRE(counts.ok());
    uint64_t main_uses = 0;
    for (const auto& [op, c] : *counts)
      if (op.rfind("mtp:", 0) != 0) main_uses += std::accumulate(c.begin(), c.end(), uint64_t{0});
    CHECK(st.uses == main_uses);
  }
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("expert cache in-step copies fill an empty cache with the first step's chosen experts") {
  auto full = load(plans().demo.str());
  REQUIRE(full.ok());
  const exec::MemoryLayout whole = (*full)->memory_layout();
  full->reset();
  // Slots for every expert, none resident: nothing ever has to be read from host memory once
  // the steps have copied what they chose.
  exec::ModelOptions mo;
  mo.gpu_memory = whole.fixed + whole.experts.expert_bytes + 4096;
  mo.expert_cache_slots = exec::ModelOptions::kExpertCacheAll;
  mo.expert_cache.in_step_copies = true;
  auto m = load(plans().demo.str(), mo);
  REQUIRE_MESSAGE(m.ok(), (m.ok() ? std::string() : m.error().message()));
  exec::ExpertCache* cache = (*m)->expert_cache();
  REQUIRE(cache != nullptr);
  REQUIRE(cache->slots() == whole.experts.experts);
  for (int32_t o : cache->occupants()) CHECK(o == -1);

  exec::SessionOptions so;
  auto s = exec::Session::create(**m, so);
  REQUIRE(s.ok());
  const std::vector<int32_t> prompt = {7};
  REQUIRE((*s)->feed(prompt, {}).ok());
  REQUIRE(cache->flush().ok());
  auto after1 = (*m)->read_expert_counts();
  REQUIRE(after1.ok());
  const std::vector<int32_t> first = chosen_units(**m, {}, *after1);
  const exec::ExpertCacheStats st1 = cache->stats();
  // One row through 3 MoE layers of top-2: 6 distinct experts, each copied in that step.
  CHECK(first.size() == 6);
  CHECK(st1.uses == 6);
  CHECK(st1.fills == 6);
  CHECK(st1.slot_uses == 6);
  CHECK(st1.host_bytes == 0);
  const std::vector<int32_t> occ1 = cache->occupants();
  for (int32_t u : first) CHECK(holds(occ1, u));

  REQUIRE((*s)->step({}).ok());
  REQUIRE(cache->flush().ok());
  auto after2 = (*m)->read_expert_counts();
  REQUIRE(after2.ok());
  const std::vector<int32_t> second = chosen_units(**m, *after1, *after2);
  size_t new_ones = 0;
  for (int32_t u : second) new_ones += holds(occ1, u) ? 0 : 1;
  const exec::ExpertCacheStats st2 = cache->stats();
  // The second step read the first step's experts from their slots and copied only the new ones.
  CHECK(st2.fills - st1.fills == new_ones);
  CHECK(st2.host_bytes == 0);
  CHECK(st2.hit_rate() == 1.0);
  const std::vector<int32_t> occ2 = cache->occupants();
  for (int32_t u : second) CHECK(holds(occ2, u));
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("expert cache in-step copies with fewer free slots than chosen experts read the rest in place") {
  auto full = load(plans().demo.str());
  REQUIRE(full.ok());
  const exec::MemoryLayout whole = (*full)->memory_layout();
  const Generation want = generate(**full, 8);
  full->reset();
  // Room for two slots, no resident expert.
  const uint64_t unit = whole.experts.expert_bytes / whole.experts.experts;
  exec::ModelOptions mo;
  mo.gpu_memory = whole.fixed + 2 * unit + 256;
  mo.expert_cache_slots = exec::ModelOptions::kExpertCacheAll;
  mo.expert_cache.in_step_copies = true;
  auto m = load(plans().demo.str(), mo);
  REQUIRE_MESSAGE(m.ok(), (m.ok() ? std::string() : m.error().message()));
  exec::ExpertCache* cache = (*m)->expert_cache();
  REQUIRE(cache != nullptr);
  REQUIRE(cache->slots() == 2);
  {
    auto s = exec::Session::create(**m, {});
    REQUIRE(s.ok());
    const std::vector<int32_t> prompt = {7};
    REQUIRE((*s)->feed(prompt, {}).ok());
    REQUIRE(cache->flush().ok());
    const exec::ExpertCacheStats st = cache->stats();
    // 6 chosen, 2 slots: the first MoE layer's two experts were copied (claims run in op and
    // expert order), the other 4 uses read host memory in place.
    CHECK(st.uses == 6);
    CHECK(st.fills == 2);
    CHECK(st.slot_uses == 2);
    CHECK(st.host_bytes > 0);
    CHECK(st.host_bytes == st.bytes - st.fill_bytes);
    const std::vector<exec::ExpertUnit>& units = (*m)->ranked_experts();
    size_t first_moe = SIZE_MAX;
    for (const exec::ExpertUnit& u : units)
      if (u.program == 0) first_moe = std::min(first_moe, u.op);
    for (int32_t o : cache->occupants()) {
      REQUIRE(o >= 0);
      CHECK(units[static_cast<size_t>(o)].program == 0);
      CHECK(units[static_cast<size_t>(o)].op == first_moe);
    }
  }
  REQUIRE((*m)->reset_expert_counts().ok());
  // Generation with two slots for 6 experts per token: the same tokens and logits, most uses
  // read in place.
  const Generation got = generate(**m, 8);
  CHECK(got.tokens == want.tokens);
  CHECK(same_bits(got.logits, want.logits));
  REQUIRE(cache->flush().ok());
  CHECK(cache->stats().host_bytes > 0);
  CHECK(cache->stats().slot_uses > 0);
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("a calibration file seeds the expert cache: its hottest host experts stay in the slots") {
  auto m = load(plans().demo.str());
  REQUIRE(m.ok());
  const exec::MemoryLayout whole = (*m)->memory_layout();
  (void)generate(**m, 16);
  auto counts = (*m)->read_expert_counts();
  REQUIRE(counts.ok());
  testing::TempPlanPath file("offload_cache_counts");
  REQUIRE(exec::save_expert_counts(file.str(), *counts, 27).ok());
  m->reset();

  exec::ModelOptions mo;
  mo.gpu_memory = whole.fixed + whole.experts.expert_bytes / 4;
  mo.expert_cache_slots = exec::ModelOptions::kExpertCacheAll;
  auto uncalibrated = load(plans().demo.str(), mo);
  REQUIRE(uncalibrated.ok());
  (void)generate(**uncalibrated, 16);
  REQUIRE((*uncalibrated)->expert_cache()->flush().ok());
  const exec::ExpertCacheStats cold = (*uncalibrated)->expert_cache()->stats();
  uncalibrated->reset();

  mo.expert_counts_path = file.str();
  auto calibrated = load(plans().demo.str(), mo);
  REQUIRE(calibrated.ok());
  (void)generate(**calibrated, 16);
  REQUIRE((*calibrated)->expert_cache()->flush().ok());
  const exec::ExpertCacheStats warm = (*calibrated)->expert_cache()->stats();
  // Seeded from the same text, the slots start with the experts it uses: fewer swaps, more hits.
  CHECK(warm.swaps < cold.swaps);
  CHECK(warm.hit_rate() > cold.hit_rate());
}

TEST_CASE("a calibration file that does not match the plan is refused naming the file and op") {
  testing::TempPlanPath file("offload_bad_counts");
  exec::ExpertCounts bad;
  bad["layers.9.moe.nothing"] = {1, 2, 3};
  REQUIRE(exec::save_expert_counts(file.str(), bad, 1).ok());
  exec::ModelOptions mo;
  mo.expert_counts_path = file.str();
  auto m = load(plans().demo.str(), mo);
  REQUIRE_FALSE(m.ok());
  CHECK(m.error().code() == ErrorCode::kCorruptData);
  CHECK(m.error().message().find(file.str()) != std::string::npos);
  CHECK(m.error().message().find("layers.9.moe.nothing") != std::string::npos);
  testing::write_text(file.path, "{\"format\": \"something else\"}");
  auto other = load(plans().demo.str(), mo);
  REQUIRE_FALSE(other.ok());
  CHECK(other.error().message().find("not an expert-counts file") != std::string::npos);
}

}  // namespace
}  // namespace r1vk
