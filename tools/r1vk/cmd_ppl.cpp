// `r1vk ppl MODEL --file TEXT [--kl-ref OTHER]`: perplexity of MODEL over a text file, and with
// --kl-ref the KL divergence and top-1 agreement of MODEL's next-token distributions against
// OTHER's on exactly the same windows (how a quantisation is judged). The windowing convention
// is in runtime/api/perplexity.h: non-overlapping windows of --ctx tokens, each from a fresh
// start with BOS first when tokenizer_config.json says add_bos_token (as Hugging Face adds it).
#include <cstdio>
#include <filesystem>
#include <fstream>
#include <memory>
#include <optional>
#include <sstream>

#include <nlohmann/json.hpp>

#include "api/perplexity.h"
#include "base/progress_bar.h"
#include "command.h"
#include "common_flags.h"
#include "exec/session.h"
#include "model_session.h"

namespace r1vk::cli {
namespace {

constexpr uint64_t kMaxTextBytes = 1ull << 30;

struct PplArgs {
  std::string model;
  std::string file;
  std::string kl_ref;
  int64_t context = 0;
  std::string weights = "auto";
  std::string ref_weights = "auto";
  std::optional<int> device;
  PipelineFlags pipeline;
  bool json = false;
};

Result<std::string> read_text_file(const std::string& path) {
  std::error_code ec;
  if (!std::filesystem::exists(path, ec)) return make_error(ErrorCode::kNotFound, "--file " + path + " does not exist");
  if (std::filesystem::is_directory(path, ec)) return make_error(ErrorCode::kInvalidArgument, "--file " + path + " is a directory");
  const auto size = std::filesystem::file_size(path, ec);
  if (ec) return make_error(ErrorCode::kIo, "--file " + path + ": " + ec.message());
  if (size > kMaxTextBytes) return make_error(ErrorCode::kOutOfRange, "--file " + path + " is larger than 1 GiB");
  std::ifstream f(path, std::ios::binary);
  if (!f) return make_error(ErrorCode::kIo, "--file " + path + " cannot be read");
  std::ostringstream ss;
  ss << f.rdbuf();
  if (f.bad()) return make_error(ErrorCode::kIo, "--file " + path + " cannot be read");
  std::string text = ss.str();
  if (text.empty()) return make_error(ErrorCode::kInvalidArgument, "--file " + path + " is empty");
  return text;
}

Result<std::vector<int32_t>> tokenize(const text::Tokenizer& tokenizer, const std::string& text, const std::string& path) {
  auto ids = tokenizer.encode(text);
  if (!ids.ok()) return make_error(ids.error().code(), "--file " + path + ": " + ids.error().message());
  return std::vector<int32_t>(ids->begin(), ids->end());
}

Status run_ppl(const PplArgs& a) {
  if (a.context < 0 || a.context == 1) return make_error(ErrorCode::kInvalidArgument, "--ctx must be at least 2 tokens");
  R1VK_ASSIGN_OR_RETURN(std::string text, read_text_file(a.file));
  PlanSourceOptions po;
  po.weights = a.weights;
  po.context = cached_context_for(a.context);  // the window is checked against the plan below
  exec::BatchOptions stages;  // behind a pipeline: the last stage sends every row's logits back
  stages.keep_logits = true;
  R1VK_ASSIGN_OR_RETURN(TextModel tm, open_text_model(a.model, po, a.pipeline.active() ? std::nullopt : a.device, {}, {}, a.pipeline, stages));
  if (tm.pipeline && tm.pipeline->worker) return tm.pipeline->worker_status;  // an MPI rank > 0: served its stage
  R1VK_ASSIGN_OR_RETURN(auto tokens, tokenize(*tm.tokenizer, text, a.file));
  exec::SessionOptions so;
  so.keep_logits = true;
  R1VK_ASSIGN_OR_RETURN(auto session, tm.session(so));

  std::optional<TextModel> ref;
  std::unique_ptr<exec::Session> ref_session;
  if (!a.kl_ref.empty()) {
    PlanSourceOptions ro = po;
    ro.weights = a.ref_weights;
    R1VK_ASSIGN_OR_RETURN(TextModel r, open_text_model(a.kl_ref, ro, a.device));
    if (r.model->vocab_size() != tm.main_model().vocab_size()) {
      return make_error(ErrorCode::kInvalidArgument, "--kl-ref " + a.kl_ref + " has a vocabulary of " +
                                                         std::to_string(r.model->vocab_size()) + " tokens, the model " +
                                                         std::to_string(tm.main_model().vocab_size()) + ": their distributions cannot be compared");
    }
    R1VK_ASSIGN_OR_RETURN(auto ref_tokens, tokenize(*r.tokenizer, text, a.file));
    if (ref_tokens != tokens) {
      size_t i = 0;
      while (i < tokens.size() && i < ref_tokens.size() && tokens[i] == ref_tokens[i]) ++i;
      return make_error(ErrorCode::kInvalidArgument, "--kl-ref " + a.kl_ref + " tokenizes the text differently (first difference at token " +
                                                         std::to_string(i) + "): the models must share a tokenizer");
    }
    if (tm.tokenizer->bos_id() != r.tokenizer->bos_id() || tm.tokenizer->adds_bos() != r.tokenizer->adds_bos()) {
      return make_error(ErrorCode::kInvalidArgument, "--kl-ref " + a.kl_ref + " has a different BOS token");
    }
    R1VK_ASSIGN_OR_RETURN(ref_session, exec::Session::create(*r.model, so));
    ref = std::move(r);
  }

  api::PerplexityOptions o;
  if (a.context > session->context_length()) {
    return make_error(ErrorCode::kInvalidArgument, "--ctx " + std::to_string(a.context) + " exceeds the plan's " +
                                                       std::to_string(session->context_length()) + " positions");
  }
  o.context = a.context > 0 ? a.context : session->context_length();
  if (ref_session) o.context = std::min(o.context, ref_session->context_length());
  // Each window starts as Hugging Face's tokenizer(text) would start it: with BOS when
  // tokenizer_config.json's add_bos_token says so (EOS is not added: windows cut the text).
  if (tm.tokenizer->adds_bos() && tm.tokenizer->bos_id()) o.bos = static_cast<int32_t>(*tm.tokenizer->bos_id());
  ProgressBar bar("ppl", tokens.size());
  bar.set_unit("tokens");
  o.progress = [&bar](int64_t done, int64_t total) { bar.update(static_cast<uint64_t>(done), static_cast<uint64_t>(total)); };
  auto report = api::score_perplexity(*session, ref_session.get(), tokens, o);
  bar.finish();
  if (!report.ok()) return std::move(report).error();
  if (tm.pipeline) print_pipeline_stats(*tm.pipeline);
  const api::PerplexityReport& r = *report;
  const double tps = r.model.seconds > 0 ? static_cast<double>(r.tokens_scored) / r.model.seconds : 0.0;
  const double ref_tps = r.reference.seconds > 0 ? static_cast<double>(r.tokens_scored) / r.reference.seconds : 0.0;
  if (a.json) {
    nlohmann::json j = {{"file", a.file},
                        {"text_tokens", tokens.size()},
                        {"context", o.context},
                        {"bos", o.bos.has_value()},
                        {"windows", r.windows},
                        {"tokens_scored", r.tokens_scored},
                        {"mean_nll", r.model.mean_nll},
                        {"perplexity", r.model.perplexity},
                        {"seconds", r.model.seconds},
                        {"tokens_per_second", tps}};
    if (r.has_reference) {
      j["reference"] = {{"mean_nll", r.reference.mean_nll},
                        {"perplexity", r.reference.perplexity},
                        {"seconds", r.reference.seconds},
                        {"tokens_per_second", ref_tps}};
      j["kl_mean"] = r.mean_kl;
      j["kl_p99"] = r.p99_kl;
      j["kl_max"] = r.max_kl;
      j["top1_agreement"] = r.top1_agreement;
    }
    std::printf("%s\n", j.dump().c_str());
    return ok_status();
  }
  std::printf("%lld tokens scored in %lld window(s) of up to %lld tokens%s\n", static_cast<long long>(r.tokens_scored),
              static_cast<long long>(r.windows), static_cast<long long>(o.context), o.bos ? " (BOS first)" : "");
  std::printf("model:     mean NLL %.6f nats, perplexity %.4f  (%.1f tok/s)\n", r.model.mean_nll, r.model.perplexity, tps);
  if (r.has_reference) {
    std::printf("reference: mean NLL %.6f nats, perplexity %.4f  (%.1f tok/s)\n", r.reference.mean_nll, r.reference.perplexity,
                ref_tps);
    std::printf("KL(reference || model): mean %.6g, p99 %.6g, max %.6g nats; top-1 agreement %.2f%%\n", r.mean_kl, r.p99_kl,
                r.max_kl, 100.0 * r.top1_agreement);
  }
  return ok_status();
}

}  // namespace

void add_ppl_command(CLI::App& app, CommandFn& selected) {
  auto a = std::make_shared<PplArgs>();
  CLI::App* sub = app.add_subcommand(
      "ppl", "Perplexity over a text file; with --kl-ref, KL divergence and top-1 agreement against another model");
  add_model_option(*sub, a->model, "Plan file or checkpoint directory")->required();
  sub->add_option("--file", a->file, "UTF-8 text file to score")->required();
  sub->add_option("--kl-ref", a->kl_ref, "Reference model (plan or checkpoint) with the same tokenizer, e.g. the f16 plan");
  add_context_option(*sub, a->context,
                  "Window length in tokens, BOS included (0: the model's context). Windows do not overlap; each starts fresh")
      ->capture_default_str();
  sub->add_option("--weights", a->weights, "Weight format when MODEL is a checkpoint: f32, f16, q8, q4, fp8, auto")
      ->capture_default_str();
  sub->add_option("--ref-weights", a->ref_weights, "Weight format when the --kl-ref model is a checkpoint")->capture_default_str();
  sub->add_option("--device", a->device, "Vulkan device index (see r1vk devices; with --devices/--pipeline: of the --kl-ref model)");
  add_pipeline_options(*sub, a->pipeline);
  sub->add_flag("--json", a->json, "Print one JSON object");
  sub->callback([a, &selected] { selected = [a] { return run_ppl(*a); }; });
}

}  // namespace r1vk::cli
