#include "model_session.h"

#include "base/progress_bar.h"
#include "device_context.h"

namespace r1vk::cli {

Result<std::unique_ptr<exec::Session>> TextModel::session() const {
  if (pipeline) return exec::Session::create_in(pipeline->first(), pipeline->pipeline);
  return exec::Session::create(*model);
}

Result<TextModel> open_text_model(const std::string& model, const PlanSourceOptions& options, std::optional<int> device,
                                  const OffloadFlags& offload, std::function<uint64_t(const exec::Model&)> reserve,
                                  const PipelineFlags& pipeline) {
  vk::ContextOptions co;
  exec::ModelOptions mo;
  R1VK_TRY(offload.apply(co, mo));  // a bad --gpu-memory costs no compile
  if (pipeline.active() && (!offload.gpu_memory.empty() || !offload.expert_counts.empty()))
    return make_error(ErrorCode::kInvalidArgument, "--gpu-memory and --expert-counts do not apply to pipeline stages yet (--devices/--pipeline)");
  R1VK_ASSIGN_OR_RETURN(plan::LoadedPlan plan, open_model(model, options));
  if (!plan.manifest().has_tokenizer()) {
    return make_error(ErrorCode::kInvalidArgument, model + " has no tokenizer: text commands cannot use it (r1vk logits and bench can)");
  }
  TextModel t;
  R1VK_ASSIGN_OR_RETURN(auto tok, text::Tokenizer::from_json(plan.manifest().tokenizer_json, plan.manifest().tokenizer_config_json));
  t.tokenizer = std::make_unique<text::Tokenizer>(std::move(tok));
  if (pipeline.active()) {
    // Never sample an id the tokenizer cannot decode (sampling happens on the last stage).
    const auto limit = static_cast<uint32_t>(t.tokenizer->id_limit());
    R1VK_ASSIGN_OR_RETURN(auto pm, open_pipeline(pipeline, [&] { return open_model(model, options); }, {}, device,
                                                 [limit](exec::Model& m) { m.attention().set_sample_vocab_limit(limit); }));
    t.pipeline = std::make_unique<PipelineModel>(std::move(pm));
    return t;
  }
  mo.reserve = std::move(reserve);
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
