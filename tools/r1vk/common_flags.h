// Flags several commands share, declared once so each has the same spelling everywhere, with the
// aliases people bring from llama.cpp where they mean the same thing:
//   MODEL positional or -m/--model; --ctx or -c/--ctx-size; --seed or -s; --temperature or
//   --temp; --max-tokens or -n/--n-predict.
#pragma once

#include <CLI/CLI.hpp>

#include <cstdint>
#include <string>

#include "api/generation.h"

namespace r1vk::cli {

// The model as a positional argument or -m/--model (one of them).
CLI::Option* add_model_option(CLI::App& sub, std::string& model, const std::string& help, const std::string& positional = "model");
// --ctx, -c, --ctx-size.
CLI::Option* add_context_option(CLI::App& sub, int64_t& context, const std::string& help);
// --seed, -s.
template <typename Seed>
CLI::Option* add_seed_option(CLI::App& sub, Seed& seed, const std::string& help) {
  return sub.add_option("-s,--seed", seed, help)->capture_default_str();
}
// --max-tokens, -n, --n-predict.
CLI::Option* add_max_tokens_option(CLI::App& sub, int64_t& max_tokens, const std::string& help);

// Sampling and length flags of the generating commands (run, chat), with DeepSeek's recommended
// defaults. Checked by api::validate_generation_options, as the C API's are.
struct SamplingFlags {
  float temperature = 0.6f;
  float top_p = 0.95f;
  uint32_t top_k = 0;
  uint32_t seed = 0;
  int64_t max_tokens = 1024;

  api::GenerationOptions options() const;
};

// --temperature/--temp, --top-p, --top-k, --seed/-s, --max-tokens/-n/--n-predict.
void add_sampling_options(CLI::App& sub, SamplingFlags& flags, const std::string& max_tokens_help);

// MTP speculative decoding of the generating commands (run, chat): on by default when the plan
// has an MTP program (docs/speculative.md).
struct DraftFlags {
  uint32_t draft = 1;
  bool no_mtp = false;
  float min_acceptance = 0.3f;  // exec::BatchOptions::draft_min_acceptance

  // exec::SessionOptions::draft_tokens: -1 (the default: on where the plan has MTP), 0 or N.
  int session_draft_tokens() const;
};

// --draft N, --no-mtp, --mtp-min-acceptance.
void add_draft_options(CLI::App& sub, DraftFlags& flags);

// A check for a fraction in [0, 1] that refuses NaN too (CLI::Range lets NaN through: every
// comparison with it is false).
CLI::Validator unit_interval();

}  // namespace r1vk::cli
