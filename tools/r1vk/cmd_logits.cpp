// `r1vk logits MODEL --tokens ... --out FILE.npy`: float32 logits [n_tokens, vocab] computed on
// the device, row i being the logits after token i. The first P tokens go through one prefill
// (in chunks of the plan's prefill size), the rest through one decode step each.
#include <cstdio>
#include <memory>
#include <optional>

#include "base/progress_bar.h"
#include "command.h"
#include "common_flags.h"
#include "device_context.h"
#include "exec/model.h"
#include "exec/session.h"
#include "npy_writer.h"
#include "pipeline_setup.h"
#include "offload_flags.h"
#include "plan_source.h"
#include "token_list.h"

namespace r1vk::cli {
namespace {

struct LogitsArgs {
  std::string model;
  std::string tokens;
  std::string out;
  int64_t prefill = -1;
  std::string weights = "f16";
  int64_t context = 0;
  std::optional<int> device;
  PipelineFlags pipeline;
  OffloadFlags offload;
};

Status run_logits(const LogitsArgs& a) {
  R1VK_ASSIGN_OR_RETURN(auto tokens, parse_token_list(a.tokens, "--tokens"));
  vk::ContextOptions co;
  exec::ModelOptions mo;
  R1VK_TRY(a.offload.apply(co, mo));
  R1VK_TRY(a.offload.refuse_for_pipeline(a.pipeline.active()));
  const int64_t n = static_cast<int64_t>(tokens.size());
  const int64_t prefill = a.prefill < 0 ? n : a.prefill;
  if (prefill > n) {
    return make_error(ErrorCode::kInvalidArgument, "--prefill " + std::to_string(prefill) + " exceeds the " +
                                                       std::to_string(n) + " tokens given");
  }
  PlanSourceOptions po;
  po.weights = a.weights;
  po.context = a.context > 0 ? a.context : cached_context_for(n);  // one cached plan, whatever n is
  std::unique_ptr<vk::Context> ctx;
  std::unique_ptr<exec::Model> single;
  PipelineModel pm;
  std::unique_ptr<exec::Session> session;
  if (a.pipeline.active()) {
    exec::BatchOptions bo;
    bo.keep_logits = true;
    R1VK_ASSIGN_OR_RETURN(pm, open_pipeline(a.pipeline, [&] { return open_model(a.model, po); }, bo, a.device));
    if (pm.worker) return pm.worker_status;  // an MPI rank > 0: served its stage
    R1VK_ASSIGN_OR_RETURN(session, exec::Session::create_in(pm.first(), pm.pipeline));
  } else {
    R1VK_ASSIGN_OR_RETURN(plan::LoadedPlan plan, open_model(a.model, po));
    R1VK_ASSIGN_OR_RETURN(ctx, open_device(a.device, co.allocator.budget_bytes));
    ProgressBar bar("loading", 0);
    mo.progress = [&bar](uint64_t done, uint64_t total) { bar.update(done, total); };
    auto model = exec::Model::load(*ctx, std::move(plan), mo);
    bar.finish();
    if (!model.ok()) return std::move(model).error();
    single = std::move(model).value();
    exec::SessionOptions so;
    so.keep_logits = true;
    R1VK_ASSIGN_OR_RETURN(session, exec::Session::create(*single, so));
  }
  const int64_t vocab = session->vocab_size();
  std::vector<float> logits;
  if (prefill > 0) R1VK_TRY(session->feed(std::span(tokens).subspan(0, static_cast<size_t>(prefill)), {}, &logits));
  for (int64_t i = prefill; i < n; ++i) R1VK_TRY(session->feed(std::span(tokens).subspan(static_cast<size_t>(i), 1), {}, &logits));
  R1VK_TRY(write_npy_f32(a.out, logits, {n, vocab}));
  std::fprintf(stderr, "wrote %s: [%lld, %lld] float32 logits (%lld prefill, %lld decode steps)\n", a.out.c_str(),
               static_cast<long long>(n), static_cast<long long>(vocab), static_cast<long long>(prefill),
               static_cast<long long>(n - prefill));
  if (pm.pipeline) print_pipeline_stats(pm);
  return ok_status();
}

}  // namespace

void add_logits_command(CLI::App& app, CommandFn& selected) {
  auto args = std::make_shared<LogitsArgs>();
  CLI::App* sub = app.add_subcommand("logits", "Compute the logits of a token sequence on the device and save them as .npy");
  add_model_option(*sub, args->model, "Plan file, or checkpoint directory (compiled into the plan cache)")->required();
  sub->add_option("--tokens", args->tokens, "Comma-separated token ids, e.g. 0,5,17")->required();
  sub->add_option("--out", args->out, "Output .npy file: float32 [n_tokens, vocab]")->required();
  sub->add_option("--prefill", args->prefill, "Tokens fed as one prefill (default: all); the rest one decode step each");
  sub->add_option("--weights", args->weights, "Weight format when MODEL is a checkpoint: f32, f16, q8, q4, fp8, auto")
      ->capture_default_str();
  add_context_option(*sub, args->context, "Context length when MODEL is a checkpoint (default: max(n_tokens, 64))");
  sub->add_option("--device", args->device, "Vulkan device index (see r1vk devices)");
  add_pipeline_options(*sub, args->pipeline);
  add_offload_options(*sub, args->offload);
  sub->callback([args, &selected] { selected = [args] { return run_logits(*args); }; });
}

}  // namespace r1vk::cli
