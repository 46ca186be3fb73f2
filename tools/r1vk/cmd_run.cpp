// `r1vk run [MODEL] -p PROMPT`: one chat turn (or a raw prompt), streamed as it is generated,
// with the reasoning shown apart from the answer. Without MODEL the bundled demo model runs.
#include <unistd.h>

#include <cstdio>
#include <memory>
#include <optional>

#include <nlohmann/json.hpp>

#include "api/generation.h"
#include "command.h"
#include "default_model.h"
#include "common_flags.h"
#include "api/generation_options.h"
#include "model_session.h"
#include "exec/model.h"
#include "exec/session.h"
#include "text/chat_format.h"
#include "text/tokenizer.h"

namespace r1vk::cli {
namespace {

struct RunArgs {
  std::string model = default_model_dir();
  std::string prompt;
  std::string system;
  SamplingFlags sampling;
  DraftFlags draft;
  int64_t context = 0;
  std::string weights = "auto";
  std::optional<int> device;
  PipelineFlags pipeline;
  OffloadFlags offload;
  bool raw = false;
  bool json = false;
  bool hide_reasoning = false;
};

Status run_run(const RunArgs& a) {
  if (a.prompt.empty()) return make_error(ErrorCode::kInvalidArgument, "-p/--prompt is empty");
  api::GenerationOptions go = a.sampling.options();
  R1VK_TRY(api::validate_generation_options(go));  // before the model loads: bad flags fail fast
  PlanSourceOptions po;
  po.weights = a.weights;
  po.context = a.context;
  exec::SessionOptions so;
  so.draft_tokens = a.draft.session_draft_tokens();
  so.draft_min_acceptance = a.draft.min_acceptance;
  R1VK_ASSIGN_OR_RETURN(TextModel tm, open_text_model(a.model, po, a.device, a.offload, session_reserve(so), a.pipeline));
  if (tm.pipeline && tm.pipeline->worker) return tm.pipeline->worker_status;  // an MPI rank > 0: served its stage
  const text::Tokenizer& tokenizer = *tm.tokenizer;
  std::unique_ptr<exec::Session> session;
  if (tm.pipeline) {
    if (a.draft.session_draft_tokens() > 0) {
      return make_error(ErrorCode::kInvalidArgument, "--draft does not apply to a pipeline (--devices/--pipeline): MTP runs on one executor");
    }
    R1VK_ASSIGN_OR_RETURN(session, tm.session());
  } else {
    R1VK_ASSIGN_OR_RETURN(session, exec::Session::create(*tm.model, so));
  }

  std::vector<int32_t> prompt;
  text::TokenId eos;
  if (a.raw) {
    // As Hugging Face's tokenizer(text): the BOS/EOS tokenizer_config.json asks for.
    R1VK_ASSIGN_OR_RETURN(auto ids, tokenizer.encode(a.prompt, {.add_bos = false, .recognize_special = true, .add_special_tokens = true}));
    prompt.assign(ids.begin(), ids.end());
    if (!tokenizer.eos_id()) return make_error(ErrorCode::kUnsupported, "the tokenizer has no end-of-sentence token");
    eos = *tokenizer.eos_id();
  } else {
    R1VK_ASSIGN_OR_RETURN(auto chat, text::R1ChatFormat::from_tokenizer(tokenizer));
    std::vector<text::ChatMessage> messages;
    if (!a.system.empty()) messages.push_back({text::ChatRole::kSystem, a.system});
    messages.push_back({text::ChatRole::kUser, a.prompt});
    R1VK_ASSIGN_OR_RETURN(auto ids, chat.encode(messages, /*add_generation_prompt=*/true));
    prompt.assign(ids.begin(), ids.end());
    eos = chat.eos_id();
  }

  go.prompt_opened_think = !a.raw;
  go.split_reasoning = !a.raw;
  const bool tty = isatty(STDOUT_FILENO) != 0;
  bool in_reasoning = false;
  bool answer_started = false;
  auto on_piece = [&](const text::TextPiece& piece) {
    text::TextPiece p = piece;
    const bool reasoning = p.kind == text::TextKind::kReasoning;
    if (!reasoning && !answer_started) {
      // The template puts blank lines after </think>; the answer starts at its first character.
      p.text.erase(0, p.text.find_first_not_of("\n"));
      if (p.text.empty()) return;
      answer_started = true;
    }
    if (a.json) {
      std::printf("%s\n", nlohmann::json{{"type", reasoning ? "reasoning" : "answer"}, {"text", p.text}}.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace).c_str());
    } else if (!(reasoning && a.hide_reasoning)) {
      if (reasoning != in_reasoning && tty) std::fputs(reasoning ? "\033[2m" : "\033[0m", stdout);
      if (!reasoning && in_reasoning && !tty) std::fputs("\n", stdout);
      std::fputs(p.text.c_str(), stdout);
    }
    in_reasoning = reasoning;
    std::fflush(stdout);
  };
  R1VK_ASSIGN_OR_RETURN(auto stats, api::generate(*session, tokenizer, prompt, eos, go, on_piece));
  if (tty && in_reasoning && !a.json) std::fputs("\033[0m", stdout);
  const double pps = stats.prompt_seconds > 0 ? static_cast<double>(stats.prompt_tokens) / stats.prompt_seconds : 0.0;
  const double gps = stats.generation_seconds > 0 ? static_cast<double>(stats.generated_tokens) / stats.generation_seconds : 0.0;
  if (a.json) {
    std::printf("%s\n", nlohmann::json{{"type", "done"}, {"finish", api::finish_reason_name(stats.finish)},
                                       {"prompt_tokens", stats.prompt_tokens}, {"prompt_tokens_per_second", pps},
                                       {"generated_tokens", stats.generated_tokens}, {"generation_tokens_per_second", gps},
                                       {"mtp_drafts", session->draft_stats().proposed},
                                       {"mtp_drafts_accepted", session->draft_stats().accepted}}
                            .dump()
                            .c_str());
  } else {
    std::printf("\n");
    std::fflush(stdout);  // the stats line goes to stderr after the answer's line
    const exec::DraftStats d = session->draft_stats();
    const std::string mtp = d.proposed ? " | MTP drafts accepted " + std::to_string(d.accepted) + "/" + std::to_string(d.proposed)
                                       : std::string();
    std::fprintf(stderr, "[prompt %lld tokens, %.1f tok/s | generated %lld tokens, %.1f tok/s%s | finish: %s]\n",
                 static_cast<long long>(stats.prompt_tokens), pps, static_cast<long long>(stats.generated_tokens), gps,
                 mtp.c_str(), api::finish_reason_name(stats.finish));
  }
  if (tm.pipeline) print_pipeline_stats(*tm.pipeline);
  return ok_status();
}

}  // namespace

void add_run_command(CLI::App& app, CommandFn& selected) {
  auto a = std::make_shared<RunArgs>();
  CLI::App* sub = app.add_subcommand("run", "Generate an answer to a prompt, streaming reasoning and answer");
  add_model_option(*sub, a->model, "Plan file or checkpoint directory (default: the bundled demo model)")->capture_default_str();
  sub->add_option("-p,--prompt", a->prompt, "The user message (or raw text with --raw)")->required();
  sub->add_option("--system", a->system, "Optional system text (DeepSeek advises none)");
  add_sampling_options(*sub, a->sampling, "Most tokens to generate, >= 1");
  add_draft_options(*sub, a->draft);
  add_context_option(*sub, a->context, "Context length when MODEL is a checkpoint (0: min(4096, the model's positions))")->capture_default_str();
  sub->add_option("--weights", a->weights, "Weight format when MODEL is a checkpoint: f32, f16, q8, q4, fp8, auto")
      ->capture_default_str();
  sub->add_option("--device", a->device, "Vulkan device index (see r1vk devices)");
  add_pipeline_options(*sub, a->pipeline);
  add_offload_options(*sub, a->offload);
  sub->add_flag("--raw", a->raw,
                "Feed the prompt as plain text, without the chat template; BOS/EOS are added as the tokenizer's "
                "tokenizer_config.json says (add_bos_token, add_eos_token), as Hugging Face's tokenizer(text) does");
  sub->add_flag("--json", a->json, "One JSON object per event (reasoning, answer, done) for scripts");
  sub->add_flag("--hide-reasoning", a->hide_reasoning, "Print only the answer");
  sub->callback([a, &selected] { selected = [a] { return run_run(*a); }; });
}

}  // namespace r1vk::cli
