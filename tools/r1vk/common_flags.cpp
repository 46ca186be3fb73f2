#include "common_flags.h"

#include <cstdlib>

namespace r1vk::cli {

CLI::Option* add_model_option(CLI::App& sub, std::string& model, const std::string& help, const std::string& positional) {
  return sub.add_option(positional + ",-m,--model", model, help);
}

CLI::Option* add_context_option(CLI::App& sub, int64_t& context, const std::string& help) {
  return sub.add_option("-c,--ctx,--ctx-size", context, help);
}

CLI::Option* add_max_tokens_option(CLI::App& sub, int64_t& max_tokens, const std::string& help) {
  return sub.add_option("-n,--max-tokens,--n-predict", max_tokens, help)->capture_default_str();
}

api::GenerationOptions SamplingFlags::options() const {
  api::GenerationOptions go;
  go.sampling = {temperature, top_p, top_k, seed};
  go.max_tokens = max_tokens;
  return go;
}

void add_sampling_options(CLI::App& sub, SamplingFlags& f, const std::string& max_tokens_help) {
  sub.add_option("--temperature,--temp", f.temperature, "Sampling temperature, finite and >= 0; 0 = greedy")->capture_default_str();
  sub.add_option("--top-p", f.top_p, "Nucleus sampling mass, in (0, 1]; 1 = off")->capture_default_str();
  sub.add_option("--top-k", f.top_k, "Keep the k most likely tokens; 0 = off")->capture_default_str();
  add_seed_option(sub, f.seed, "Sampling seed (same seed, same output)");
  add_max_tokens_option(sub, f.max_tokens, max_tokens_help);
}

int DraftFlags::session_draft_tokens() const {
  if (no_mtp || draft == 0) return 0;
  return draft == 1 ? -1 : static_cast<int>(draft);
}

void add_draft_options(CLI::App& sub, DraftFlags& f) {
  auto* draft = sub.add_option("--draft", f.draft,
                 "MTP draft tokens per decode step (speculative decoding with the model's own multi-token-prediction "
                 "layer; on when the plan has one; the output is unchanged, greedy or sampled with the same seed); "
                 "0 = off; N > 1 drafts N tokens by applying the MTP layer to its own output, and a step verifies them all "
                 "(up to 1 + N tokens a step)")
      ->capture_default_str()
      ->check(CLI::Range(0, 8));
  sub.add_flag("--no-mtp", f.no_mtp, "Decode without MTP drafts (same as --draft 0)")->excludes(draft);
  sub.add_option("--mtp-min-acceptance", f.min_acceptance,
                 "Stop drafting while the running draft acceptance (an average over about the last 8 drafts) is below "
                 "this, retrying every 64 steps: MTP pays off above the break-even acceptance `r1vk bench --mtp-decode` "
                 "prints (a verify step's time over a plain step's, minus 1); 0 = never stop")
      ->capture_default_str()
      ->check(unit_interval());
}

CLI::Validator unit_interval() {
  return CLI::Validator(
      [](const std::string& text) -> std::string {
        char* end = nullptr;
        const double v = std::strtod(text.c_str(), &end);
        if (end == text.c_str() || *end != '\0') return "must be a number in [0, 1], got " + text;
        return v >= 0.0 && v <= 1.0 ? std::string() : "must be in [0, 1], got " + text;  // false for NaN
      },
      "FLOAT in [0, 1]");
}

}  // namespace r1vk::cli
