// MTP speculative decoding (BatchOptions::draft_tokens, docs/speculative.md): greedy output with
// the MTP drafts (1, 2 or 3 per step) verified in every step must be the output without them,
// token for token, on the trained demo model (its held-out problems) and on the random-weight
// tiny-r1 preset (low acceptance: most drafts are rejected, so the rollback path runs all the
// time), including rejected drafts at a paged-KV block boundary and at the last slot of the context.
#include <doctest/doctest.h>

#include <array>
#include <cmath>
#include <cstdio>
#include <map>
#include <memory>
#include <set>
#include <string>
#include <vector>

#include "api/demo_plan.h"
#include "api/generation.h"
#include "api/problem_eval.h"
#include "exec/batch_executor.h"
#include "exec/norm_fusion.h"
#include "exec/session.h"
#include "harness/kernel_harness.h"
#include "import/import_test_util.h"
#include "text/chat_format.h"

namespace r1vk {
namespace {

// Greedy tokens of one generation through api::generate (the loop `r1vk run` uses).
std::vector<int32_t> generate_tokens(exec::Session& session, const text::Tokenizer& tokenizer, std::span<const int32_t> prompt,
                                     text::TokenId eos, int64_t max_tokens) {
  std::vector<int32_t> out;
  api::GenerationOptions o;
  o.max_tokens = max_tokens;
  o.on_token = [&](int32_t t, const std::vector<text::TextPiece>&) {
    if (t >= 0) out.push_back(t);
    return true;
  };
  session.reset();
  auto r = api::generate(session, tokenizer, prompt, eos, o, nullptr);
  R1VK_REQUIRE_OK(r);
  return out;
}

TEST_CASE("greedy decoding with MTP drafts equals decoding without on the demo model's held-out problems") {
  auto problems = api::read_problems_file((testing::demo_dir() / "heldout.jsonl").string());
  R1VK_REQUIRE_OK(problems);
  constexpr size_t kSubset = 24;  // CI-sized: the first 24 canonical problems
  problems->resize(kSubset);
  const text::Tokenizer tokenizer = testing::demo_tokenizer();
  auto chat = text::R1ChatFormat::from_tokenizer(tokenizer);
  R1VK_REQUIRE_OK(chat);
  for (const char* format : {"f16", "q4"}) {
    CAPTURE(format);
    testing::DemoPlan plan = testing::load_demo_plan(format, 256, 32);
    REQUIRE(!plan.model->manifest().mtp.ops.empty());
    exec::SessionOptions off;
    off.draft_tokens = 0;
    auto plain = exec::Session::create(*plan.model, off);
    auto spec = exec::Session::create(*plan.model);  // MTP is on by default for a plan with an MTP program
    R1VK_REQUIRE_OK(plain);
    R1VK_REQUIRE_OK(spec);
    REQUIRE(!(*plain)->speculative());
    REQUIRE((*spec)->speculative());
    // Two and three drafts per step: the MTP layer applied to its own output.
    std::unique_ptr<exec::Session> deeper[2];
    for (int n = 2; n <= 3; ++n) {
      exec::SessionOptions so;
      so.draft_tokens = n;
      auto s = exec::Session::create(*plan.model, so);
      R1VK_REQUIRE_OK(s);
      deeper[n - 2] = std::move(s).value();
    }
    size_t tokens = 0;
    for (const api::Problem& p : *problems) {
      CAPTURE(p.question);
      const text::ChatMessage msg{text::ChatRole::kUser, p.question};
      auto ids = chat->encode(std::span(&msg, 1), true);
      R1VK_REQUIRE_OK(ids);
      const std::vector<int32_t> prompt(ids->begin(), ids->end());
      const auto want = generate_tokens(**plain, tokenizer, prompt, chat->eos_id(), 200);
      const auto got = generate_tokens(**spec, tokenizer, prompt, chat->eos_id(), 200);
      CHECK(got == want);
      for (auto& s : deeper) CHECK(generate_tokens(*s, tokenizer, prompt, chat->eos_id(), 200) == want);
      tokens += want.size();
    }
    const exec::DraftStats d = (*spec)->draft_stats();
    const double acceptance = d.proposed ? static_cast<double>(d.accepted) / static_cast<double>(d.proposed) : 0.0;
    std::printf("demo %s: %zu tokens identical with MTP, %llu of %llu drafts accepted (%.1f%%), %u vs %u submits\n", format,
                tokens, static_cast<unsigned long long>(d.accepted), static_cast<unsigned long long>(d.proposed),
                100.0 * acceptance, (*spec)->submits(), (*plain)->submits());
    CHECK(d.proposed > tokens / 3);
    CHECK(acceptance > 0.9);  // the trainer measured 99.8 %
    CHECK((*spec)->submits() < (*plain)->submits() * 3 / 4);
    for (int n = 2; n <= 3; ++n) {
      const exec::Session& s = *deeper[n - 2];
      const exec::DraftStats dn = s.draft_stats();
      std::printf("demo %s, %d drafts per step: identical; %u submits;", format, n, s.submits());
      for (int j = 0; j < n; ++j) {
        std::printf(" draft %d accepted %llu of %llu", j + 1, static_cast<unsigned long long>(dn.accepted_at[static_cast<size_t>(j)]),
                    static_cast<unsigned long long>(dn.proposed_at[static_cast<size_t>(j)]));
      }
      std::printf("\n");
      CHECK(dn.proposed_at[1] > 0);  // the second draft was verified
      CHECK(s.submits() < (*spec)->submits());  // more tokens per step than with one draft
    }
  }
  CHECK(test::validation_errors() == 0);
}

std::unique_ptr<testing::TempPlanPath> compile_preset(const std::string& dir, const char* format, const std::string& label) {
  auto path = std::make_unique<testing::TempPlanPath>(label + "_" + format);
  CompileOptions opt;
  opt.weights = format;
  opt.max_context = 48;
  opt.prefill_chunk = 8;
  auto m = compile_checkpoint(dir, opt, path->str());
  R1VK_REQUIRE_OK(m);
  return path;
}

// Greedy generation to the end of the context on one executor sequence: the tokens, and (with
// MTP) the positions of the drafts that were rejected.
struct Run {
  std::vector<int32_t> tokens;
  std::set<int64_t> rejected_at;  // position of the first rejected draft's row
  bool dropped_across_blocks = false;  // rejected rows dropped on both sides of a block boundary
  uint64_t proposed = 0;
};

Run run_to_context_end(exec::Model& model, uint32_t draft, uint32_t block_tokens, const std::vector<int32_t>& prompt,
                       float min_acceptance = 0.0f, exec::DraftStats* stats = nullptr) {
  exec::BatchOptions bo;
  bo.block_tokens = block_tokens;
  bo.draft_tokens = draft;
  bo.draft_min_acceptance = min_acceptance;  // 0: every draft verified (the rollback paths run)
  bo.draft_retry_steps = 8;
  auto ex = exec::BatchExecutor::create(model, bo);
  R1VK_REQUIRE_OK(ex);
  auto seq = (*ex)->add_sequence();
  R1VK_REQUIRE_OK(seq);
  Run r;
  exec::BatchExecutor::Entry e{*seq, prompt, {}, true, true};
  auto first = (*ex)->step(std::span(&e, 1));
  R1VK_REQUIRE_OK(first);
  r.tokens.push_back(first->front());
  e.tokens = {};
  while (*(*ex)->position(*seq) < model.context_length()) {
    const int64_t pos = *(*ex)->position(*seq);
    const uint64_t accepted = (*ex)->draft_stats().accepted, proposed = (*ex)->draft_stats().proposed;
    auto t = (*ex)->step(std::span(&e, 1));
    R1VK_REQUIRE_OK(t);
    const auto& emitted = (*ex)->emitted().front();
    REQUIRE(!emitted.empty());
    REQUIRE(emitted.back() == t->front());
    // Drafts verified n, accepted a < n: rows pos + 1 + a .. pos + n were dropped.
    const uint64_t n = (*ex)->draft_stats().proposed - proposed, a = (*ex)->draft_stats().accepted - accepted;
    if (a < n) {
      const int64_t dropped = pos + 1 + static_cast<int64_t>(a), end = pos + 1 + static_cast<int64_t>(n);
      r.rejected_at.insert(dropped);
      if (dropped / block_tokens != (end - 1) / block_tokens) r.dropped_across_blocks = true;
    }
    r.tokens.insert(r.tokens.end(), emitted.begin(), emitted.end());
    REQUIRE(*(*ex)->position(*seq) == pos + static_cast<int64_t>(emitted.size()));
  }
  r.proposed = (*ex)->draft_stats().proposed;
  if (stats) *stats = (*ex)->draft_stats();
  CHECK((*ex)->free_blocks() + (model.context_length() + block_tokens - 1) / block_tokens == (*ex)->total_blocks());
  return r;
}

TEST_CASE("greedy MTP decoding on the tiny-r1 preset equals plain decoding in every weight format, rejected drafts included") {
  // 1, 2 and 3 drafts per step; with several, the rejected rows of one step may span a block
  // boundary (the block after it taken for them alone), and the extra MTP passes' rows past the
  // context's end or past the blocks reserved for them run in the trash block.
  for (bool fp8 : {true, false}) {
    const std::string label = std::string("spec_tiny-r1") + (fp8 ? "-fp8" : "");
    CAPTURE(label);
    testing::TempDir dir;
    testing::generate(dir.path(), testing::preset("tiny-r1", fp8));
    for (const char* format : {"f32", "f16", "q8", "q4", "fp8"}) {
      CAPTURE(format);
      const auto path = compile_preset(dir.str(), format, label);
      auto plan = plan::LoadedPlan::open(path->str());
      R1VK_REQUIRE_OK(plan);
      auto model = exec::Model::load(test::context(), std::move(plan).value());
      R1VK_REQUIRE_OK(model);
      REQUIRE(!(*model)->manifest().mtp.ops.empty());
      // Block size 4: drafts land on every slot of a block, the first (a block taken for the
      // draft alone, released on rejection) included. Prompts until a draft was rejected at a
      // block's first slot, inside a block, and at the context's last slot.
      constexpr uint32_t kBlock = 4;
      constexpr uint32_t kMaxDrafts = 3;
      const int64_t last = (*model)->context_length() - 1;
      bool at_block_start[kMaxDrafts] = {}, inside_block[kMaxDrafts] = {}, at_last_slot[kMaxDrafts] = {};
      bool across_blocks[kMaxDrafts] = {};
      uint64_t proposed[kMaxDrafts] = {};
      const auto all_seen = [&] {
        for (uint32_t n = 0; n < kMaxDrafts; ++n) {
          if (!(at_block_start[n] && inside_block[n] && at_last_slot[n] && (n == 0 || across_blocks[n]))) return false;
        }
        return true;
      };
      for (int32_t seed = 0; seed < 12 && !all_seen(); ++seed) {
        CAPTURE(seed);
        std::vector<int32_t> prompt = {0};
        for (int32_t i = 1; i < 5 + seed % 4; ++i) prompt.push_back((seed * 37 + i * 101) % 600 + 6);
        const Run want = run_to_context_end(**model, 0, kBlock, prompt);
        for (uint32_t n = 0; n < kMaxDrafts; ++n) {
          CAPTURE(n + 1);
          const Run got = run_to_context_end(**model, n + 1, kBlock, prompt);
          CHECK(got.tokens == want.tokens);
          proposed[n] += got.proposed;
          across_blocks[n] = across_blocks[n] || got.dropped_across_blocks;
          for (int64_t p : got.rejected_at) {
            if (p % kBlock == 0) at_block_start[n] = true;
            else inside_block[n] = true;
            if (p == last) at_last_slot[n] = true;
          }
        }
      }
      for (uint32_t n = 0; n < kMaxDrafts; ++n) {
        CAPTURE(n + 1);
        CHECK(proposed[n] > 0);
        CHECK(at_block_start[n]);
        CHECK(inside_block[n]);
        CHECK(at_last_slot[n]);
        if (n > 0) CHECK(across_blocks[n]);
      }
    }
  }
  CHECK(test::validation_errors() == 0);
}

// Sampled tokens of one sequence of `ex` (fresh, so its RNG counter starts at 0): the prompt,
// then steps until `count` tokens were emitted.
std::vector<int32_t> sample_sequence(exec::BatchExecutor& ex, const std::vector<int32_t>& prompt, const exec::Sampling& s,
                                     size_t count) {
  auto seq = ex.add_sequence();
  R1VK_REQUIRE_OK(seq);
  exec::BatchExecutor::Entry e{*seq, prompt, s, true, true};
  std::vector<int32_t> out;
  while (out.size() < count) {
    auto t = ex.step(std::span(&e, 1));
    R1VK_REQUIRE_OK(t);
    const auto& emitted = ex.emitted().front();
    out.insert(out.end(), emitted.begin(), emitted.end());
    e.tokens = {};
  }
  REQUIRE(ex.free_sequence(*seq).ok());
  out.resize(count);
  return out;
}

// Upper point of chi-square with `df` degrees of freedom at the standard normal quantile z
// (Wilson-Hilferty): z = 3.0902 is the 0.1 % point, 3.7190 the 0.01 %.
double chi_square_critical(double df, double z) {
  const double a = 2.0 / (9.0 * df);
  return df * std::pow(1.0 - a + z * std::sqrt(a), 3.0);
}

// Sampled texts of seeds first .. first + seeds - 1 and, per position k, how often each token
// came at k.
struct SampledTexts {
  std::vector<std::vector<int32_t>> texts;
  std::vector<std::map<int32_t, double>> counts;
};

SampledTexts sample_seeds(exec::BatchExecutor& ex, const std::vector<int32_t>& prompt, float temperature, uint32_t first,
                          int seeds, size_t tokens) {
  SampledTexts out;
  out.counts.resize(tokens);
  for (int i = 0; i < seeds; ++i) {
    const exec::Sampling s{temperature, 1.0f, 0, first + static_cast<uint32_t>(i)};
    out.texts.push_back(sample_sequence(ex, prompt, s, tokens));
    for (size_t k = 0; k < tokens; ++k) out.counts[k][out.texts.back()[k]] += 1;
  }
  return out;
}

// Two-sample chi-square homogeneity statistic (equal totals), tokens seen fewer than 10 times in
// both samples together pooled into one category; `categories` receives the categories used.
double chi_square(const std::map<int32_t, double>& a, const std::map<int32_t, double>& b, int* categories) {
  std::map<int32_t, std::array<double, 2>> both;
  for (const auto& [t, n] : a) both[t][0] += n;
  for (const auto& [t, n] : b) both[t][1] += n;
  double chi2 = 0, pooled_a = 0, pooled_b = 0;
  *categories = 0;
  for (const auto& [token, c] : both) {
    if (c[0] + c[1] < 10) {
      pooled_a += c[0];
      pooled_b += c[1];
      continue;
    }
    chi2 += (c[0] - c[1]) * (c[0] - c[1]) / (c[0] + c[1]);
    ++*categories;
  }
  if (pooled_a + pooled_b > 0) {
    chi2 += (pooled_a - pooled_b) * (pooled_a - pooled_b) / (pooled_a + pooled_b);
    ++*categories;
  }
  return chi2;
}

// The demo model (its MTP drafts mostly agree with the main model), sampled hot enough that
// drafts are often rejected (temperature 4: about four in five, the second draft of two
// seven in eight), so both the accepted branch and the residual distribution run.
//  - Distribution: plain sampling with seeds 1..200 against sampling with MTP with the
//    independent seeds 201..400. At each position k = 1..9 of the 10 sampled tokens (the first
//    comes from the prompt, drafts from the second on) the tokens of the 200 seeds are
//    independent draws of that position's distribution in each run, so a two-sample chi-square
//    test per position is valid; the nine tests together run at the 0.1 % level (Bonferroni:
//    0.011 % each, so a correct sampler fails with probability < 0.001; the seeds are fixed, so
//    the outcome is reproducible). Independent seeds make this a test of the distribution itself:
//    with the same seeds a correct implementation gives the same texts (below), so the
//    statistic would be 0 whatever the rule.
//  - The test can fail: the same draw with a deliberately biased rule (the last draft of a step
//    stands whenever the drafts before it stood, BatchOptions::test_force_accept_draft; with one
//    draft that is "always accept", with two it biases only the second) must exceed the
//    critical value at some position.
//  - Same seed, same text: MTP with seeds 1..200 must give plain sampling's texts (rounding
//    between the one- and multi-row kernels may move a draw that lands on a boundary, hence 95 %).
void check_sampling_distribution(uint32_t drafts) {
  CAPTURE(drafts);
  testing::DemoPlan plan = testing::load_demo_plan("f16", 256, 32);
  exec::Model* model = plan.model.get();
  exec::BatchOptions off, on, biased;
  on.draft_tokens = drafts;
  on.draft_min_acceptance = 0.0f;  // every draft verified, however many are rejected
  biased = on;
  biased.test_force_accept_draft = drafts;
  auto plain = exec::BatchExecutor::create(*model, off);
  auto spec = exec::BatchExecutor::create(*model, on);
  auto wrong = exec::BatchExecutor::create(*model, biased);
  R1VK_REQUIRE_OK(plain);
  R1VK_REQUIRE_OK(spec);
  R1VK_REQUIRE_OK(wrong);
  constexpr int kSeeds = 200;
  constexpr size_t kTokens = 10;
  constexpr float kTemperature = 4.0f;
  constexpr double kZ = 3.7190;  // 0.01 % per position, ~0.1 % for the nine (Bonferroni)
  // "What is 4512 + 873?" in the chat template (docs/demo_model.md).
  const std::vector<int32_t> prompt = {0, 2, 266, 263, 38, 58, 59, 55, 56, 267, 38, 62, 61, 57, 69, 3, 4, 16};
  const SampledTexts base = sample_seeds(**plain, prompt, kTemperature, 1, kSeeds, kTokens);
  const SampledTexts same = sample_seeds(**spec, prompt, kTemperature, 1, kSeeds, kTokens);
  const exec::DraftStats d = (*spec)->draft_stats();
  const SampledTexts other = sample_seeds(**spec, prompt, kTemperature, 1 + kSeeds, kSeeds, kTokens);
  const SampledTexts bad = sample_seeds(**wrong, prompt, kTemperature, 1 + kSeeds, kSeeds, kTokens);
  int identical = 0;
  for (int i = 0; i < kSeeds; ++i) identical += base.texts[static_cast<size_t>(i)] == same.texts[static_cast<size_t>(i)];
  // The largest ratio of a position's statistic to its critical value: < 1 passes.
  double worst = 0, bad_worst = 0;
  int min_categories = 1 << 30;
  for (size_t k = 1; k < kTokens; ++k) {
    int categories = 0, bad_categories = 0;
    const double chi2 = chi_square(base.counts[k], other.counts[k], &categories);
    const double bad_chi2 = chi_square(base.counts[k], bad.counts[k], &bad_categories);
    const double ratio = chi2 / chi_square_critical(std::max(1, categories - 1), kZ);
    const double bad_ratio = bad_chi2 / chi_square_critical(std::max(1, bad_categories - 1), kZ);
    std::printf("  position %zu: chi-square %.1f over %d categories (ratio to the critical value %.2f), biased rule %.1f (%.2f)\n",
                k, chi2, categories, ratio, bad_chi2, bad_ratio);
    worst = std::max(worst, ratio);
    bad_worst = std::max(bad_worst, bad_ratio);
    min_categories = std::min(min_categories, categories);
  }
  std::printf("sampling T=%.1f, %u draft(s) per step: largest chi-square / critical %.2f (biased rule: %.2f); %d of %d seeds "
              "identical with MTP; %llu of %llu drafts accepted (second draft: %llu of %llu)\n",
              static_cast<double>(kTemperature), drafts, worst, bad_worst, identical, kSeeds,
              static_cast<unsigned long long>(d.accepted), static_cast<unsigned long long>(d.proposed),
              static_cast<unsigned long long>(d.accepted_at[1]), static_cast<unsigned long long>(d.proposed_at[1]));
  CHECK(min_categories >= 3);  // several likely tokens at every position
  CHECK(worst < 1.0);
  CHECK(bad_worst > 1.0);
  // Drafts are rejected often enough that the residual branch runs, at every depth.
  CHECK(d.accepted > 100);
  CHECK(d.proposed - d.accepted > 100);
  if (drafts > 1) CHECK(d.proposed_at[1] - d.accepted_at[1] > 20);
  CHECK(identical >= kSeeds * 95 / 100);
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("sampling with MTP drafts draws the tokens plain sampling draws (chi-square over seeds)") {
  check_sampling_distribution(1);
}

TEST_CASE("sampling with two MTP drafts per step draws the tokens plain sampling draws (chi-square over seeds)") {
  // The rejection rule applied draft by draft: the second draft is verified only after the
  // first stood, against the token drawn with the next token's counter.
  check_sampling_distribution(2);
}

TEST_CASE("RMSNorms and SwiGLUs fold into the linears that alone read them, and only those") {
  // The demo model: 4 layers (the first dense), MLA, MoE; then its MTP layer (docs/demo_model.md).
  testing::DemoPlan plan = testing::load_demo_plan("q4", 256, 32);
  const plan::Manifest& m = plan.model->manifest();
  const uint64_t rows = static_cast<uint64_t>(m.memory.prefill_chunk);
  auto fused_labels = [&](const plan::Program& p, const exec::NormFusion& f) {
    std::set<std::string> out;
    for (size_t i = 0; i < p.ops.size(); ++i) {
      if (f.skip[i]) out.insert(p.ops[i].label);
    }
    return out;
  };
  const int32_t keep_main[] = {m.main.hidden_value, m.main.logits_value, m.main.tokens_value};
  const exec::NormFusion main = exec::plan_norm_fusion(m.main, {}, rows, keep_main, std::nullopt);
  const auto fm = fused_labels(m.main, main);
  for (const std::string& l : fm) std::printf("main program: %s folded\n", l.c_str());
  // attn_norm and q_a_norm of 4 layers, the dense layer's ffn_norm; the SwiGLUs before the dense
  // down projection and the 3 shared experts' down projections.
  CHECK(main.fused() == 13);
  CHECK(fm.count("layers.0.mlp.swiglu") == 1);
  CHECK(fm.count("layers.3.shared.swiglu") == 1);
  CHECK(fm.count("layers.0.attn_norm") == 1);
  CHECK(fm.count("layers.3.attn_norm") == 1);
  CHECK(fm.count("layers.0.ffn_norm") == 1);
  CHECK(fm.count("layers.3.attn.q_a_norm") == 1);
  CHECK(fm.count("layers.1.ffn_norm") == 0);  // read by the MoE op
  for (size_t i = 0; i < m.main.ops.size(); ++i) {
    const plan::Op& op = m.main.ops[i];
    if (op.kind == plan::OpKind::kRmsNorm && op.outputs[0].value == m.main.hidden_value) CHECK(!main.skip[i]);  // MTP reads it
    if (main.norm_of[i] >= 0) {
      CHECK(op.kind == plan::OpKind::kLinear);
      CHECK(main.skip[static_cast<size_t>(main.norm_of[i])]);
      CHECK(main.swiglu_of[i] < 0);
    }
    if (main.swiglu_of[i] >= 0) {
      CHECK(op.kind == plan::OpKind::kLinear);
      CHECK(m.main.ops[static_cast<size_t>(main.swiglu_of[i])].kind == plan::OpKind::kSwiGlu);
      CHECK(main.skip[static_cast<size_t>(main.swiglu_of[i])]);
    }
  }
  const int32_t keep_mtp[] = {m.mtp.hidden_value, m.mtp.logits_value, m.mtp.tokens_value};
  const exec::NormFusion mtp = exec::plan_norm_fusion(m.mtp, {}, rows, keep_mtp, std::nullopt);
  const auto ft = fused_labels(m.mtp, mtp);
  for (const std::string& l : ft) std::printf("MTP program: %s folded\n", l.c_str());
  CHECK(mtp.fused() == 4);
  CHECK(ft.count("mtp.norm") == 1);
  CHECK(ft.count("layers.4.shared.swiglu") == 1);
  CHECK(ft.count("layers.4.attn_norm") == 1);
  CHECK(ft.count("mtp.enorm") == 0);  // halves of one input: the linear reads the whole row
  // Keeping the MTP norm's output (a reader outside the program) keeps the norm; a range that
  // ends before a reader keeps it too.
  int32_t normed = -1;
  for (const plan::Op& op : m.mtp.ops) {
    if (op.label == "mtp.norm") normed = op.outputs[0].value;
  }
  REQUIRE(normed >= 0);
  const int32_t keep_more[] = {m.mtp.hidden_value, m.mtp.logits_value, normed};
  CHECK(exec::plan_norm_fusion(m.mtp, {}, rows, keep_more, std::nullopt).fused() == 3);
  CHECK(exec::plan_norm_fusion(m.mtp, {0, m.mtp.ops.size() - 1}, rows, keep_mtp, std::nullopt).fused() == 3);
  // A range that ends between the SwiGLU and its down projection keeps the SwiGLU.
  size_t shared_down = 0;
  for (size_t i = 0; i < m.mtp.ops.size(); ++i) {
    if (m.mtp.ops[i].label == "layers.4.shared.down") shared_down = i;
  }
  REQUIRE(shared_down > 0);
  CHECK(exec::plan_norm_fusion(m.mtp, {0, shared_down}, rows, keep_mtp, std::nullopt).fused() == 2);

  // The MTP input in one dispatch (plan_embed_norm_fusion): embedding, enorm and hnorm.
  const auto input = exec::plan_embed_norm_fusion(m.mtp, {}, rows, keep_mtp, m.mtp.hidden_value);
  REQUIRE(input.has_value());
  CHECK(m.mtp.ops[input->embed].label == "mtp.embed");
  CHECK(m.mtp.ops[input->norm].label == "mtp.enorm");
  REQUIRE(input->second.has_value());
  CHECK(m.mtp.ops[*input->second].label == "mtp.hnorm");
  // Not without hnorm in range (the embedding and enorm alone still fuse), not where the
  // embedding's rows are kept, and never in the main program (its embedding is the residual).
  const auto short_range = exec::plan_embed_norm_fusion(m.mtp, {0, input->norm + 1}, rows, keep_mtp, m.mtp.hidden_value);
  REQUIRE(short_range.has_value());
  CHECK_FALSE(short_range->second.has_value());
  const int32_t keep_embed[] = {m.mtp.ops[input->embed].outputs[0].value};
  CHECK_FALSE(exec::plan_embed_norm_fusion(m.mtp, {}, rows, keep_embed, m.mtp.hidden_value).has_value());
  CHECK_FALSE(exec::plan_embed_norm_fusion(m.main, {}, rows, keep_main, -1).has_value());
}

TEST_CASE("MTP turns itself off at low acceptance and retries, with unchanged output") {
  // tiny-r1 (random weights) rejects nearly every draft: with a minimum acceptance a sequence
  // pauses its drafts (steps without the MTP program), retries every 8 steps, and pauses again.
  testing::TempDir dir;
  testing::generate(dir.path(), testing::preset("tiny-r1"));
  const auto path = compile_preset(dir.str(), "f16", "spec_auto_off");
  auto plan = plan::LoadedPlan::open(path->str());
  R1VK_REQUIRE_OK(plan);
  auto model = exec::Model::load(test::context(), std::move(plan).value());
  R1VK_REQUIRE_OK(model);
  const std::vector<int32_t> prompt = {0, 107, 208, 309, 410};
  exec::DraftStats forced, automatic;
  const Run want = run_to_context_end(**model, 0, 4, prompt);
  const Run all = run_to_context_end(**model, 1, 4, prompt, 0.0f, &forced);
  const Run paused = run_to_context_end(**model, 1, 4, prompt, 0.3f, &automatic);
  CHECK(all.tokens == want.tokens);
  CHECK(paused.tokens == want.tokens);
  std::printf("tiny-r1: %llu of %llu drafts accepted when every draft is verified; with automatic off %llu of %llu, "
              "%llu pauses, %llu steps without the MTP program\n",
              static_cast<unsigned long long>(forced.accepted), static_cast<unsigned long long>(forced.proposed),
              static_cast<unsigned long long>(automatic.accepted), static_cast<unsigned long long>(automatic.proposed),
              static_cast<unsigned long long>(automatic.pauses), static_cast<unsigned long long>(automatic.plain_steps));
  REQUIRE(forced.proposed > 20);
  CHECK(forced.accepted * 4 < forced.proposed);  // random weights: most drafts rejected
  CHECK(forced.pauses == 0);
  CHECK(forced.plain_steps == 0);
  CHECK(automatic.pauses >= 2);               // paused, retried after 8 steps, paused again
  CHECK(automatic.plain_steps >= 8);
  CHECK(automatic.proposed * 2 < forced.proposed);
  // Bad settings are refused.
  exec::BatchOptions bo;
  bo.draft_tokens = 1;
  bo.draft_min_acceptance = 1.5f;
  CHECK(!exec::BatchExecutor::create(**model, bo).ok());
  bo.draft_min_acceptance = 0.5f;
  bo.draft_retry_steps = 0;
  CHECK(!exec::BatchExecutor::create(**model, bo).ok());
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("MTP options are checked") {
  testing::TempDir dir;
  ModelConfig c = testing::preset("tiny-r1");
  c.num_nextn_predict_layers = 0;
  testing::generate(dir.path(), c);
  const auto path = compile_preset(dir.str(), "f16", "spec_no_mtp");
  auto plan = plan::LoadedPlan::open(path->str());
  R1VK_REQUIRE_OK(plan);
  auto model = exec::Model::load(test::context(), std::move(plan).value());
  R1VK_REQUIRE_OK(model);
  REQUIRE((*model)->manifest().mtp.ops.empty());
  exec::BatchOptions bo;
  bo.draft_tokens = 1;
  auto ex = exec::BatchExecutor::create(**model, bo);
  REQUIRE(!ex.ok());
  CHECK(ex.error().message().find("no MTP program") != std::string::npos);
  auto s = exec::Session::create(**model);  // the default: no MTP program, no speculation
  R1VK_REQUIRE_OK(s);
  CHECK(!(*s)->speculative());
  exec::SessionOptions so;
  so.draft_tokens = 1;
  CHECK(!exec::Session::create(**model, so).ok());
  so.draft_tokens = 2;
  CHECK(!exec::Session::create(**model, so).ok());
  so.draft_tokens = -2;
  CHECK(!exec::Session::create(**model, so).ok());
  CHECK(test::validation_errors() == 0);
}

// Greedy tokens of `prompts` decoded together on one executor (every sequence one entry a step,
// the first prompt fed in two chunks beside the others' decode, each entry verifying at most
// `max_drafts` drafts), `count` tokens each.
std::vector<std::vector<int32_t>> decode_together(exec::Model& model, uint32_t drafts, uint32_t block_tokens,
                                                  const std::vector<std::vector<int32_t>>& prompts, size_t count,
                                                  exec::DraftStats* stats, uint32_t max_drafts = exec::kMaxDraftTokens) {
  exec::BatchOptions bo;
  bo.max_batch = static_cast<uint32_t>(prompts.size());
  bo.block_tokens = block_tokens;
  bo.draft_tokens = drafts;
  bo.draft_min_acceptance = 0.0f;
  auto ex = exec::BatchExecutor::create(model, bo);
  R1VK_REQUIRE_OK(ex);
  std::vector<exec::SeqId> seqs;
  std::vector<std::vector<int32_t>> out(prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) {
    auto seq = (*ex)->add_sequence();
    R1VK_REQUIRE_OK(seq);
    seqs.push_back(*seq);
  }
  // Step 0: every prompt but the first's second half; the first then finishes its prompt while
  // the others decode (a sampled prompt chunk beside verifying entries).
  const size_t half = prompts[0].size() / 2;
  std::vector<exec::BatchExecutor::Entry> entries(prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) {
    entries[i] = {seqs[i], i == 0 ? std::span(prompts[0]).first(half) : std::span(prompts[i]), {}, i != 0, true};
    entries[i].max_drafts = max_drafts;
  }
  bool all_done = false;
  for (int step = 0; !all_done; ++step) {
    auto stepped = (*ex)->step(entries);  // R1VK_REQUIRE_OK evaluates its argument twice
    R1VK_REQUIRE_OK(stepped);
    all_done = true;
    for (size_t i = 0; i < prompts.size(); ++i) {
      const auto& e = (*ex)->emitted()[i];
      out[i].insert(out[i].end(), e.begin(), e.end());
      if (i == 0 && step == 0) {
        entries[0].tokens = std::span(prompts[0]).subspan(half);
        entries[0].sample = true;
      } else {
        entries[i].tokens = {};
      }
      if (out[i].size() < count) all_done = false;
    }
  }
  if (stats) *stats = (*ex)->draft_stats();
  for (auto& o : out) o.resize(count);
  for (exec::SeqId s : seqs) REQUIRE((*ex)->free_sequence(s).ok());
  CHECK((*ex)->free_blocks() == (*ex)->total_blocks());
  return out;
}

TEST_CASE("several drafts per step for every sequence of a batch give plain decoding's tokens") {
  testing::DemoPlan plan = testing::load_demo_plan("q4", 256, 64);  // 64-row steps: the three prompts in one
  const std::vector<std::vector<int32_t>> prompts = {
      {0, 2, 266, 263, 38, 58, 59, 55, 56, 267, 38, 62, 61, 57, 69, 3, 4, 16},  // "What is 4512 + 873?"
      {0, 2, 266, 263, 38, 61, 58, 267, 38, 57, 3, 4, 16},
      {0, 2, 266, 263, 38, 59, 59, 59, 267, 39, 56, 3, 4, 16}};
  const auto want = decode_together(*plan.model, 0, 8, prompts, 40, nullptr);
  for (uint32_t drafts : {1u, 2u, 3u}) {
    CAPTURE(drafts);
    exec::DraftStats d;
    CHECK(decode_together(*plan.model, drafts, 8, prompts, 40, &d) == want);
    std::printf("batch of 3, %u draft(s) per step: %llu of %llu drafts accepted\n", drafts,
                static_cast<unsigned long long>(d.accepted), static_cast<unsigned long long>(d.proposed));
    CHECK(d.proposed_at[drafts - 1] > 0);
  }
  // An entry's max_drafts caps the drafts it verifies (the server's max_tokens): three drafts
  // held, two verified, the same tokens.
  exec::DraftStats capped;
  CHECK(decode_together(*plan.model, 3, 8, prompts, 40, &capped, 2) == want);
  CHECK(capped.proposed_at[1] > 0);
  CHECK(capped.proposed_at[2] == 0);
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("draft counts beyond the limit or the step's rows are refused") {
  testing::TempDir dir;
  testing::generate(dir.path(), testing::preset("tiny-r1"));
  const auto path = compile_preset(dir.str(), "f16", "spec_limits");  // prefill chunk 8
  auto plan = plan::LoadedPlan::open(path->str());
  R1VK_REQUIRE_OK(plan);
  auto model = exec::Model::load(test::context(), std::move(plan).value());
  R1VK_REQUIRE_OK(model);
  exec::BatchOptions bo;
  bo.draft_tokens = exec::kMaxDraftTokens;  // 1 + 8 rows exceed the 8-row step
  auto ex = exec::BatchExecutor::create(**model, bo);
  REQUIRE(!ex.ok());
  CHECK(ex.error().message().find("at most 7") != std::string::npos);
  bo.draft_tokens = 7;
  CHECK(exec::BatchExecutor::create(**model, bo).ok());
  bo.draft_tokens = exec::kMaxDraftTokens + 1;
  CHECK(!exec::BatchExecutor::create(**model, bo).ok());
  CHECK(test::validation_errors() == 0);
}


// One sequence's tokens: the prompt fed greedily, `switch_at` greedy steps, then `after` steps
// sampled with `later`. how 0: Session::step; 1: submit_step + poll; 2: Session::step_together;
// 3: Session::step, with a sampled feed of three tokens at the switch (a chat's next message).
std::vector<int32_t> decode_switching(exec::Model& model, int drafts, std::span<const int32_t> prompt, int switch_at, int after,
                                      const exec::Sampling& later, int how) {
  std::unique_ptr<exec::Session> session;
  if (how == 2) {
    exec::BatchOptions bo;
    bo.max_batch = 2;
    bo.draft_tokens = static_cast<uint32_t>(drafts);
    auto ex = exec::BatchExecutor::create(model, bo);
    R1VK_REQUIRE_OK(ex);
    auto s = exec::Session::create_in(model, std::shared_ptr<exec::SequenceExecutor>(std::move(ex).value()));
    R1VK_REQUIRE_OK(s);
    session = std::move(s).value();
  } else {
    exec::SessionOptions so;
    so.draft_tokens = drafts;
    auto s = exec::Session::create(model, so);
    R1VK_REQUIRE_OK(s);
    session = std::move(s).value();
  }
  const exec::Sampling greedy;
  REQUIRE(session->feed(prompt, greedy).ok());
  std::vector<int32_t> out{session->last_token()};
  for (int i = 0; i < switch_at + after; ++i) {
    const exec::Sampling& sampling = i < switch_at ? greedy : later;
    if (how == 3 && i == switch_at) {
      const std::array<int32_t, 3> message = {3, 4, 16};
      REQUIRE(session->feed(message, later).ok());
    } else if (how == 0 || how == 3) {
      auto t = session->step(sampling);
      R1VK_REQUIRE_OK(t);
    } else if (how == 1) {
      REQUIRE(session->submit_step(sampling).ok());
      for (;;) {
        auto done = session->poll();
        R1VK_REQUIRE_OK(done);
        if (*done) break;
      }
    } else {
      exec::Session* one = session.get();
      auto t = exec::Session::step_together(std::span(&one, 1), std::span(&sampling, 1));
      R1VK_REQUIRE_OK(t);
    }
    out.push_back(session->last_token());
  }
  return out;
}

TEST_CASE("a change of sampling between steps drops the token an accepted draft queued under the old sampling") {
  // An accepted draft leaves the token after it queued; it was drawn with the sampling of the
  // step that verified the draft. Returned after the caller switched to other settings (the C
  // API's r1vk_session_set_sampling), it is a token plain decoding would not draw. Dropped, it
  // must also give back its RNG draw, or every later sampled token differs from plain decoding's
  // (also after a feed, which drops queued tokens too).
  testing::DemoPlan plan = testing::load_demo_plan("q4", 256, 32);
  const std::vector<int32_t> prompt = {0, 2, 266, 263, 38, 58, 59, 55, 56, 267, 38, 62, 61, 57, 69, 3, 4, 16};
  exec::Sampling hot;
  hot.temperature = 3.0f;
  hot.top_p = 1.0f;
  hot.seed = 3;
  for (int switch_at = 1; switch_at <= 8; ++switch_at) {
    CAPTURE(switch_at);
    const auto want = decode_switching(*plan.model, 0, prompt, switch_at, 6, hot, 0);
    const auto want_fed = decode_switching(*plan.model, 0, prompt, switch_at, 6, hot, 3);
    for (int drafts = 1; drafts <= 2; ++drafts) {
      CAPTURE(drafts);
      for (int how = 0; how < 4; ++how) {
        CAPTURE(how);
        CHECK(decode_switching(*plan.model, drafts, prompt, switch_at, 6, hot, how) == (how == 3 ? want_fed : want));
      }
    }
  }
  // After a reset the same seed and prompt give a fresh session's tokens, with and without MTP.
  for (int drafts = 0; drafts <= 1; ++drafts) {
    CAPTURE(drafts);
    exec::SessionOptions so;
    so.draft_tokens = drafts;
    auto s = exec::Session::create(*plan.model, so);
    R1VK_REQUIRE_OK(s);
    std::vector<int32_t> first, again;
    for (auto* out : {&first, &again}) {
      (*s)->reset();
      REQUIRE((*s)->feed(prompt, hot).ok());
      out->push_back((*s)->last_token());
      for (int i = 0; i < 12; ++i) {
        auto t = (*s)->step(hot);
        R1VK_REQUIRE_OK(t);
        out->push_back(*t);
      }
    }
    CHECK(again == first);
  }
  CHECK(test::validation_errors() == 0);
}

}  // namespace
}  // namespace r1vk
