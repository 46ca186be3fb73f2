#include "model_session.h"

#include "base/progress_bar.h"
#include "cpu_driver_threads.h"
#include "device_context.h"
#include "exec/executor_memory.h"

namespace r1vk::cli {

Result<std::unique_ptr<exec::Session>> TextModel::session(const exec::SessionOptions& options) const {
  if (!pipeline) return exec::Session::create(*model, options);
  if (options.draft_tokens > 0) {
    return make_error(ErrorCode::kInvalidArgument, "--draft does not apply to a pipeline (--devices/--pipeline): MTP runs on one executor");
  }
  const exec::BatchOptions& stages = pipeline->pipeline->options();
  if ((options.keep_logits && !stages.keep_logits) || (options.profile && !stages.profile)) {
    return make_error(ErrorCode::kInternal, "the pipeline was opened without the logits or profile its session asks for");
  }
  return exec::Session::create_in(pipeline->first(), pipeline->pipeline);
}

std::function<uint64_t(const exec::Model&)> session_reserve(const exec::SessionOptions& options) {
  return [options](const exec::Model& m) -> uint64_t {
    auto bo = exec::Session::executor_options(m, options);
    return bo.ok() ? exec::executor_device_bytes(m, *bo) : 0;
  };
}

namespace {

Result<std::unique_ptr<text::Tokenizer>> plan_tokenizer(const plan::LoadedPlan& plan, const std::string& model) {
  if (!plan.manifest().has_tokenizer()) {
    return make_error(ErrorCode::kInvalidArgument, model + " has no tokenizer: text commands cannot use it (r1vk logits and bench can)");
  }
  R1VK_ASSIGN_OR_RETURN(auto tok, text::Tokenizer::from_json(plan.manifest().tokenizer_json, plan.manifest().tokenizer_config_json));
  return std::make_unique<text::Tokenizer>(std::move(tok));
}

}  // namespace

Result<TextModel> open_text_model(const std::string& model, const PlanSourceOptions& options, std::optional<int> device,
                                  const OffloadFlags& offload, std::function<uint64_t(const exec::Model&)> reserve,
                                  const PipelineFlags& pipeline, const exec::BatchOptions& stage_options) {
  vk::ContextOptions co;
  exec::ModelOptions mo;
  R1VK_TRY(offload.apply(co, mo));  // a bad --gpu-memory costs no compile
  R1VK_TRY(offload.refuse_for_pipeline(pipeline.active()));
  TextModel t;
  if (pipeline.active()) {
    // The plan is opened only through open_pipeline, which keeps its order (under mpirun: rank 0
    // compiles a checkpoint into the cache, then a barrier, then the others read it); opening it
    // here first would have every rank compile at once. The tokenizer comes from the first plan
    // opened, before any stage is prepared.
    auto open_plan = [&]() -> Result<plan::LoadedPlan> {
      R1VK_ASSIGN_OR_RETURN(plan::LoadedPlan plan, open_model(model, options));
      if (!t.tokenizer) {
        R1VK_ASSIGN_OR_RETURN(t.tokenizer, plan_tokenizer(plan, model));
      }
      return plan;
    };
    // Never sample an id the tokenizer cannot decode (sampling happens on the last stage).
    auto limit_vocab = [&t](exec::Model& m) { m.attention().set_sample_vocab_limit(static_cast<uint32_t>(t.tokenizer->id_limit())); };
    R1VK_ASSIGN_OR_RETURN(auto pm, open_pipeline(pipeline, open_plan, stage_options, device, limit_vocab));
    t.pipeline = std::make_unique<PipelineModel>(std::move(pm));
    return t;
  }
  R1VK_ASSIGN_OR_RETURN(plan::LoadedPlan plan, open_model(model, options));
  R1VK_ASSIGN_OR_RETURN(t.tokenizer, plan_tokenizer(plan, model));
  mo.reserve = std::move(reserve);
  (void)choose_cpu_driver_threads(plan.manifest());
  R1VK_ASSIGN_OR_RETURN(t.context, open_device(device, co.allocator.budget_bytes));
  ProgressBar bar("loading", 0);
  mo.progress = [&bar](uint64_t done, uint64_t total) { bar.update(done, total); };
  auto loaded = exec::Model::load(*t.context, std::move(plan), mo);
  bar.finish();
  if (!loaded.ok()) return std::move(loaded).error();
  t.model = std::move(loaded).value();
  // Never sample an id the tokenizer cannot decode (the padding rows of the vocabulary).
  t.model->attention().set_sample_vocab_limit(static_cast<uint32_t>(t.tokenizer->id_limit()));
  return t;
}

}  // namespace r1vk::cli
