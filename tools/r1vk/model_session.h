// What the text commands (run, chat) open: a plan with an embedded tokenizer, loaded on a
// device, with the R1 chat format. One place for the shared flags and their checks.
#pragma once

#include <memory>
#include <optional>
#include <string>

#include "base/status.h"
#include "exec/model.h"
#include "exec/session.h"
#include "pipeline_setup.h"
#include "offload_flags.h"
#include "plan_source.h"
#include "text/chat_format.h"
#include "text/tokenizer.h"
#include "vulkan/context.h"

namespace r1vk::cli {

struct TextModel {
  std::unique_ptr<vk::Context> context;
  std::unique_ptr<exec::Model> model;
  std::unique_ptr<text::Tokenizer> tokenizer;
  std::unique_ptr<PipelineModel> pipeline;  // with --devices/--pipeline: the stages (context and model stay null)

  // A session with `options` on the model, or one sequence of the pipeline: there the stages'
  // executor options were fixed when it opened (keep_logits, profile: open_text_model's
  // stage_options), and MTP drafts asked for (draft_tokens > 0) are refused, auto (-1) is off.
  Result<std::unique_ptr<exec::Session>> session(const exec::SessionOptions& options = {}) const;
  // The model (behind a pipeline: stage 0's, which has the manifest, vocabulary and context).
  exec::Model& main_model() const { return pipeline ? pipeline->first() : *model; }
  vk::Context& main_context() const { return pipeline ? *pipeline->contexts.front() : *context; }
};

// `offload`: --gpu-memory, --calibrate and --expert-cache; `reserve`: device bytes to keep for the caller's
// executors (empty: one session), see exec::ModelOptions. With an active `pipeline`, the model is
// split over its devices (device must be unset; offload flags are refused there), each stage a
// BatchExecutor with `stage_options` (the same on every stage and MPI rank).
// A `reserve` for open_text_model: the device bytes of the executor one session with `options`
// creates (its draft count decides the MTP buffers), so a --gpu-memory budget that experts fill
// still holds it. Options create() would refuse reserve nothing: create() reports them.
std::function<uint64_t(const exec::Model&)> session_reserve(const exec::SessionOptions& options);

Result<TextModel> open_text_model(const std::string& model, const PlanSourceOptions& options, std::optional<int> device,
                                  const OffloadFlags& offload = {},
                                  std::function<uint64_t(const exec::Model&)> reserve = {},
                                  const PipelineFlags& pipeline = {}, const exec::BatchOptions& stage_options = {});

}  // namespace r1vk::cli
