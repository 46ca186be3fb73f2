// `r1vk eval [MODEL] --problems FILE.jsonl`: answer accuracy on a problem set. Each line's
// question is asked as one R1 chat turn, answered greedily, and the text after "</think>"
// (trimmed) must equal the line's answer exactly; accuracy is broken down by the lines' "kind".
// The bundled demo model's 860 held-out questions (500 canonical problems, other phrasings,
// non-arithmetic questions) are models/r1vk-demo/heldout.jsonl.
#include <cstdio>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "api/problem_eval.h"
#include "base/progress_bar.h"
#include "command.h"
#include "default_model.h"
#include "common_flags.h"
#include "exec/session.h"
#include "model_session.h"

namespace r1vk::cli {
namespace {

struct EvalArgs {
  std::string model = default_model_dir();
  std::string problems;
  std::string weights = "auto";
  int64_t limit = 0;
  int64_t max_tokens = 512;
  int64_t context = 0;
  std::optional<int> device;
  PipelineFlags pipeline;
  int verbose = 0;
  bool json = false;
  DraftFlags draft;
};

constexpr size_t kFailuresShown = 10;

double percent(int64_t num, int64_t den) { return den ? 100.0 * static_cast<double>(num) / static_cast<double>(den) : 0.0; }

Status run_eval(const EvalArgs& a) {
  if (a.limit < 0) return make_error(ErrorCode::kInvalidArgument, "--limit must be >= 0");
  if (a.max_tokens <= 0) return make_error(ErrorCode::kInvalidArgument, "--max-tokens must be positive");
  R1VK_ASSIGN_OR_RETURN(auto problems, api::read_problems_file(a.problems));
  if (a.limit > 0 && static_cast<size_t>(a.limit) < problems.size()) problems.resize(static_cast<size_t>(a.limit));
  PlanSourceOptions po;
  po.weights = a.weights;
  po.context = a.context;
  R1VK_ASSIGN_OR_RETURN(TextModel tm, open_text_model(a.model, po, a.device, {}, {}, a.pipeline));
  if (tm.pipeline && tm.pipeline->worker) return tm.pipeline->worker_status;  // an MPI rank > 0: served its stage
  exec::SessionOptions so;
  so.draft_tokens = a.draft.session_draft_tokens();
  so.draft_min_acceptance = a.draft.min_acceptance;
  R1VK_ASSIGN_OR_RETURN(auto session, tm.session(so));

  api::EvalOptions o;
  o.max_tokens = a.max_tokens;
  ProgressBar bar("eval", problems.size());
  bar.set_unit("problems");
  o.progress = [&bar](int64_t done, int64_t total) { bar.update(static_cast<uint64_t>(done), static_cast<uint64_t>(total)); };
  auto report = api::evaluate_problems(*session, *tm.tokenizer, problems, o);
  bar.finish();
  if (!report.ok()) return std::move(report).error();
  const api::EvalReport& r = *report;
  const double gen_tps = r.generation_seconds > 0 ? static_cast<double>(r.generated_tokens) / r.generation_seconds : 0.0;
  const double prompt_tps = r.prompt_seconds > 0 ? static_cast<double>(r.prompt_tokens) / r.prompt_seconds : 0.0;
  const size_t shown = a.verbose > 0 ? std::min(kFailuresShown, r.failures.size()) : 0;
  const exec::DraftStats drafts = session->draft_stats();
  if (a.json) {
    nlohmann::json kinds = nlohmann::json::object();
    for (const auto& [name, k] : r.by_kind) {
      kinds[name] = {{"correct", k.correct}, {"total", k.total}, {"accuracy", k.total ? percent(k.correct, k.total) / 100 : 0.0}};
    }
    nlohmann::json failures = nlohmann::json::array();
    for (size_t i = 0; i < shown; ++i) {
      const auto& f = r.failures[i];
      const auto& p = problems[f.index];
      failures.push_back({{"line", p.line}, {"question", p.question}, {"expected", p.answer}, {"got", f.got},
                          {"closed_reasoning", f.closed_reasoning}, {"finish", api::finish_reason_name(f.finish)}});
    }
    nlohmann::json j = {{"problems", a.problems},
                        {"correct", r.correct},
                        {"total", r.total},
                        {"accuracy", r.accuracy()},
                        {"by_kind", kinds},
                        {"prompt_tokens", r.prompt_tokens},
                        {"generated_tokens", r.generated_tokens},
                        {"seconds", r.prompt_seconds + r.generation_seconds},
                        {"generation_tokens_per_second", gen_tps},
                        {"mtp_drafts", drafts.proposed},
                        {"mtp_drafts_accepted", drafts.accepted}};
    if (a.verbose > 0) j["failures"] = failures;
    std::printf("%s\n", j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    return ok_status();
  }
  std::printf("accuracy %.2f%% (%lld/%lld)\n", 100.0 * r.accuracy(), static_cast<long long>(r.correct),
              static_cast<long long>(r.total));
  for (const auto& [name, k] : r.by_kind) {
    std::printf("  %s: %.2f%% (%lld/%lld)\n", name.c_str(), percent(k.correct, k.total), static_cast<long long>(k.correct),
                static_cast<long long>(k.total));
  }
  std::printf("prompts %lld tokens (%.1f tok/s), generated %lld tokens (%.1f tok/s), %.1f s\n",
              static_cast<long long>(r.prompt_tokens), prompt_tps, static_cast<long long>(r.generated_tokens), gen_tps,
              r.prompt_seconds + r.generation_seconds);
  if (drafts.proposed > 0) {
    std::printf("MTP drafts accepted %.2f%% (%llu/%llu)\n", percent(static_cast<int64_t>(drafts.accepted), static_cast<int64_t>(drafts.proposed)),
                static_cast<unsigned long long>(drafts.accepted), static_cast<unsigned long long>(drafts.proposed));
  }
  for (size_t i = 0; i < shown; ++i) {
    const auto& f = r.failures[i];
    const auto& p = problems[f.index];
    std::printf("  wrong (line %lld): %s -> %s (expected %s)\n", static_cast<long long>(p.line), p.question.c_str(),
                f.closed_reasoning ? ("\"" + f.got + "\"").c_str() : ("no </think> (finish: " + std::string(api::finish_reason_name(f.finish)) + ")").c_str(),
                p.answer.c_str());
  }
  if (tm.pipeline) print_pipeline_stats(*tm.pipeline);
  return ok_status();
}

}  // namespace

void add_eval_command(CLI::App& app, CommandFn& selected) {
  auto a = std::make_shared<EvalArgs>();
  CLI::App* sub = app.add_subcommand("eval", "Answer accuracy on a JSONL problem set ({\"question\", \"answer\", \"kind\"} per line), greedy");
  add_model_option(*sub, a->model, "Plan file or checkpoint directory (default: the bundled demo model)")->capture_default_str();
  sub->add_option("--problems", a->problems,
                  "JSON Lines file: {\"question\": ..., \"answer\": ..., optional \"kind\": ...} per line "
                  "(the demo model's held-out set: models/r1vk-demo/heldout.jsonl)")
      ->required();
  sub->add_option("--weights", a->weights, "Weight format when MODEL is a checkpoint: f32, f16, q8, q4, fp8, auto")
      ->capture_default_str();
  sub->add_option("--limit", a->limit, "Evaluate only the first N problems (0: all)")->capture_default_str();
  add_max_tokens_option(*sub, a->max_tokens, "Most tokens per reply, reasoning included");
  add_context_option(*sub, a->context, "Context length when MODEL is a checkpoint (0: min(4096, the model's positions))")
      ->capture_default_str();
  sub->add_option("--device", a->device, "Vulkan device index (see r1vk devices)");
  add_pipeline_options(*sub, a->pipeline);
  sub->add_flag("-v,--verbose", a->verbose, "List the first failures");
  sub->add_flag("--json", a->json, "Print one JSON object");
  add_draft_options(*sub, a->draft);
  sub->callback([a, &selected] { selected = [a] { return run_eval(*a); }; });
}

}  // namespace r1vk::cli
