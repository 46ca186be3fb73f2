// `r1vk chat [MODEL]`: interactive multi-turn chat. Each turn re-renders the conversation with
// the R1 template (earlier answers without their reasoning, as the template requires) and
// streams the reply. /reset forgets the conversation, /exit (or end of input) leaves; Ctrl-C
// stops the answer being generated, not the program.
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <thread>
#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <optional>
#include <string>

#include "api/generation.h"
#include "command.h"
#include "default_model.h"
#include "common_flags.h"
#include "api/generation_options.h"
#include "exec/session.h"
#include "model_session.h"

namespace r1vk::cli {
namespace {

std::atomic<bool> g_generating{false};
std::atomic<bool> g_cancel{false};

extern "C" void on_interrupt(int) {
  if (g_generating.load()) {
    g_cancel.store(true);
    return;
  }
  std::signal(SIGINT, SIG_DFL);
  std::raise(SIGINT);
}

struct ChatArgs {
  std::string model = default_model_dir();
  std::string system;
  SamplingFlags sampling;
  DraftFlags draft;
  int64_t context = 0;
  std::string weights = "auto";
  std::optional<int> device;
  PipelineFlags pipeline;
  OffloadFlags offload;
  bool hide_reasoning = false;
};

// Tests slow generation down to press Ctrl-C in the middle of an answer through a terminal.
int token_delay_ms() {
  const char* v = std::getenv("R1VK_CHAT_TOKEN_DELAY_MS");
  return v ? std::atoi(v) : 0;
}

Status run_chat(const ChatArgs& a) {
  const int delay_ms = token_delay_ms();
  const api::GenerationOptions base = a.sampling.options();
  R1VK_TRY(api::validate_generation_options(base));  // before the model loads, as run does
  PlanSourceOptions po;
  po.weights = a.weights;
  po.context = a.context;
  exec::SessionOptions so;
  so.draft_tokens = a.draft.session_draft_tokens();
  so.draft_min_acceptance = a.draft.min_acceptance;
  R1VK_ASSIGN_OR_RETURN(TextModel tm, open_text_model(a.model, po, a.device, a.offload, session_reserve(so), a.pipeline));
  if (tm.pipeline && tm.pipeline->worker) return tm.pipeline->worker_status;  // an MPI rank > 0: served its stage
  R1VK_ASSIGN_OR_RETURN(auto chat, text::R1ChatFormat::from_tokenizer(*tm.tokenizer));
  R1VK_ASSIGN_OR_RETURN(auto session, tm.session(so));
  std::signal(SIGINT, on_interrupt);
  const bool tty = isatty(STDOUT_FILENO) != 0;
  std::vector<text::ChatMessage> history;
  if (!a.system.empty()) history.push_back({text::ChatRole::kSystem, a.system});
  std::fprintf(stderr, "r1vk chat: %s on %s. /reset forgets the conversation, /exit leaves; Ctrl-C stops an answer.\n",
               tm.main_model().manifest().model_name.c_str(),
               tm.pipeline ? (std::to_string(tm.pipeline->pipeline->stages()) + " pipeline stages").c_str() : tm.context->caps().name.c_str());
  std::string line;
  uint32_t turn = 0;
  while (true) {
    std::fputs("> ", stdout);
    std::fflush(stdout);
    if (!std::getline(std::cin, line)) break;
    if (line == "/exit" || line == "/quit") break;
    if (line == "/reset") {
      history.resize(a.system.empty() ? 0 : 1);
      std::puts("(conversation reset)");
      continue;
    }
    if (line.empty()) continue;
    history.push_back({text::ChatRole::kUser, line});
    auto prompt = chat.encode(history, /*add_generation_prompt=*/true);
    if (!prompt.ok()) {
      // A line the tokenizer refuses (bytes that are not UTF-8, a Latin-1 paste) costs that line,
      // not the conversation.
      std::fprintf(stderr, "r1vk: %s (line ignored)\n", prompt.error().message().c_str());
      history.pop_back();
      continue;
    }
    session->reset();
    api::GenerationOptions go = base;
    go.sampling.seed = a.sampling.seed + turn++;
    bool in_reasoning = false, answer_started = false;
    auto on_piece = [&](const text::TextPiece& piece) {
      if (delay_ms > 0) std::this_thread::sleep_for(std::chrono::milliseconds(delay_ms));
      const bool reasoning = piece.kind == text::TextKind::kReasoning;
      std::string t = piece.text;
      if (!reasoning && !answer_started) {
        t.erase(0, t.find_first_not_of('\n'));
        if (t.empty()) return;
        answer_started = true;
      }
      if (reasoning && a.hide_reasoning) return;
      if (reasoning != in_reasoning && tty) std::fputs(reasoning ? "\033[2m" : "\033[0m", stdout);
      if (!reasoning && in_reasoning && !tty) std::fputs("\n", stdout);
      in_reasoning = reasoning;
      std::fputs(t.c_str(), stdout);
      std::fflush(stdout);
    };
    g_cancel.store(false);
    g_generating.store(true);
    const std::vector<int32_t> ids(prompt->begin(), prompt->end());
    auto stats = api::generate(*session, *tm.tokenizer, ids, chat.eos_id(), go, on_piece, &g_cancel);
    g_generating.store(false);
    if (tty && in_reasoning) std::fputs("\033[0m", stdout);
    std::fputs("\n", stdout);
    if (!stats.ok()) {
      std::fprintf(stderr, "r1vk: %s%s\n", stats.error().message().c_str(),
                   stats.error().code() == ErrorCode::kOutOfRange ? " (use /reset to start over)" : "");
      history.pop_back();
      continue;
    }
    if (stats->finish == api::FinishReason::kCancelled) std::fputs("(stopped)\n", stdout);
    history.push_back({text::ChatRole::kAssistant, stats->answer});
  }
  std::fputs("\n", stdout);
  if (tm.pipeline) print_pipeline_stats(*tm.pipeline);
  return ok_status();
}

}  // namespace

void add_chat_command(CLI::App& app, CommandFn& selected) {
  auto a = std::make_shared<ChatArgs>();
  CLI::App* sub = app.add_subcommand("chat", "Interactive multi-turn chat (/reset, /exit; Ctrl-C stops an answer)");
  add_model_option(*sub, a->model, "Plan file or checkpoint directory (default: the bundled demo model)")->capture_default_str();
  sub->add_option("--system", a->system, "Optional system text");
  add_sampling_options(*sub, a->sampling, "Most tokens per answer, >= 1");
  add_draft_options(*sub, a->draft);
  add_context_option(*sub, a->context, "Context length when MODEL is a checkpoint (0: min(4096, the model's positions))")
      ->capture_default_str();
  sub->add_option("--weights", a->weights, "Weight format when MODEL is a checkpoint")->capture_default_str();
  sub->add_option("--device", a->device, "Vulkan device index (see r1vk devices)");
  add_pipeline_options(*sub, a->pipeline);
  add_offload_options(*sub, a->offload);
  sub->add_flag("--hide-reasoning", a->hide_reasoning, "Print only the answers");
  sub->callback([a, &selected] { selected = [a] { return run_chat(*a); }; });
}

}  // namespace r1vk::cli
