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

  // A session on the model, or one sequence of the pipeline.
  Result<std::unique_ptr<exec::Session>> session() const;
};

// `offload`: --gpu-memory, --calibrate and --expert-cache; `reserve`: device bytes to keep for the caller's
// executors (empty: one session), see exec::ModelOptions. With an active `pipeline`, the model is
// split over its devices (device must be unset; offload flags are refused there).
Result<TextModel> open_text_model(const std::string& model, const PlanSourceOptions& options, std::optional<int> device,
                                  const OffloadFlags& offload = {},
                                  std::function<uint64_t(const exec::Model&)> reserve = {},
                                  const PipelineFlags& pipeline = {});

}  // namespace r1vk::cli
