// `r1vk compile DIR|FILE.gguf -o model.r1vk`: lowers a Hugging Face checkpoint or a GGUF file into a plan file.
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>
#include <memory>
#include <vector>

#include "base/progress_bar.h"
#include "command.h"
#include "common_flags.h"
#include "compiler/compiler.h"
#include "import/gguf_import.h"
#include "import/gguf_split.h"
#include "plan/loaded_plan.h"
#include "plan/plan_dump.h"
#include "plan/plan_format.h"
#include "text/tokenizer.h"

namespace r1vk::cli {
namespace {

struct CompileArgs {
  std::string dir;
  std::string out;
  std::string weights;  // empty: auto for a GGUF file (its blocks kept), f16 for a checkpoint
  int64_t context = 0;  // min(4096, the model's positions): the demo model has only 512
  int64_t prefill_chunk = 0;
  int64_t q4_group = 32;
  int threads = 0;
  bool dump = false;
  bool verbose = false;
};

bool is_plan_file(const std::filesystem::path& p) {
  char magic[sizeof(plan::kMagic)] = {};
  std::ifstream f(p, std::ios::binary);
  return f.read(magic, sizeof(magic)) && std::memcmp(magic, plan::kMagic, sizeof(magic)) == 0;
}

// The plan is renamed over -o at the end, so an -o that names a file the import reads (a typo
// away from model.r1vk: config.json, a shard, the GGUF file) would replace the checkpoint
// itself. Refused before anything is read; an older plan at -o may be replaced.
Status check_output_is_not_input(const std::string& input, const std::string& out) {
  namespace fs = std::filesystem;
  std::error_code ec;
  if (!fs::exists(out, ec) || is_plan_file(out)) return ok_status();
  std::vector<fs::path> inputs;
  if (fs::is_directory(input, ec)) {
    for (const auto& e : fs::directory_iterator(input, ec)) {
      if (e.is_regular_file(ec)) inputs.push_back(e.path());
    }
  } else {
    inputs.push_back(input);
    const int64_t n = gguf_split_count_from_name(input);
    for (int64_t k = 1; k < n; ++k) inputs.push_back(gguf_split_path(input, k, n));
  }
  for (const fs::path& f : inputs) {
    if (fs::equivalent(f, out, ec)) {
      return make_error(ErrorCode::kInvalidArgument, "-o " + out + " is " + f.string() +
                                                         ", which the compile reads: the plan would replace it; choose another path");
    }
  }
  return ok_status();
}

Status run_compile(const CompileArgs& a) {
  R1VK_TRY(check_output_is_not_input(a.dir, a.out));
  CompileOptions o;
  o.weights = !a.weights.empty() ? a.weights : (is_gguf_file(a.dir) ? "auto" : "f16");
  o.max_context = a.context;
  o.prefill_chunk = a.prefill_chunk;
  o.q4_group = a.q4_group;
  o.threads = a.threads;
  ProgressBar bar("compile", 0);
  o.progress = [&bar](uint64_t done, uint64_t total) { bar.update(done, total); };
  CompileReport report;
  auto m = compile_checkpoint(a.dir, o, a.out, &report);
  bar.finish();
  if (!m.ok()) return std::move(m).error();
  if (!m->has_tokenizer()) {
    std::fprintf(stderr, "r1vk: warning: %s has no tokenizer: the plan serves token-id commands (logits, bench) only\n",
                 a.dir.c_str());
  } else if (auto tok = text::Tokenizer::from_json(m->tokenizer_json, m->tokenizer_config_json); !tok.ok()) {
    // Found now rather than at the first `run`, after what may have been an hours-long compile.
    std::fprintf(stderr, "r1vk: warning: the embedded tokenizer cannot be loaded (%s): text commands (run, chat, serve) will "
                 "refuse this plan; token-id commands (logits, bench) work\n", tok.error().message().c_str());
  }
  // Validate what was written, as a loader will.
  auto loaded = plan::LoadedPlan::open(a.out);
  if (!loaded.ok()) {
    // Never leave a plan behind that its own loader refuses: the next run would trip on it.
    std::remove(a.out.c_str());
    return std::move(loaded).error().with_context("checking the written plan (removed)");
  }
  const double gb = static_cast<double>(report.source_bytes) / 1e9;
  std::printf("wrote %s: %.1f MB from %.2f GB of f32-equivalent weights in %.1f s (%.3f GB/s)\n", a.out.c_str(),
              static_cast<double>(report.plan_bytes) / 1e6, gb, report.seconds, report.seconds > 0 ? gb / report.seconds : 0.0);
  if (a.verbose) {
    std::printf("%-48s %-5s %14s  %s\n", "tensor", "fmt", "shape", "normalised MSE");
    for (const auto& t : m->tensors) {
      std::printf("%-48s %-5s %6lld x %-6lld  %.3g\n", t.name.c_str(), weight_format_name(t.format),
                  static_cast<long long>(t.rows), static_cast<long long>(t.cols), t.quant_nmse);
    }
  }
  if (a.dump) std::fputs(plan::dump_plan(loaded->manifest()).c_str(), stdout);
  return ok_status();
}

}  // namespace

void add_compile_command(CLI::App& app, CommandFn& selected) {
  auto args = std::make_shared<CompileArgs>();
  CLI::App* sub = app.add_subcommand("compile", "Compile a Hugging Face checkpoint directory or a GGUF file into a plan file");
  add_model_option(*sub, args->dir,
                   "Checkpoint directory (config.json, *.safetensors, tokenizer.json) or GGUF file (the first split of a split one)",
                   "checkpoint")->required();
  sub->add_option("-o,--output", args->out, "Plan file to write")->required();
  sub->add_option("--weights", args->weights,
                  "Storage of bulk weights: f32, f16, q8, q4, fp8, q8_0, q4_k, q6_k or auto (q8; a GGUF file's "
                  "Q8_0/Q4_K/Q6_K tensors stay as stored, other types get the nearest format); norms and the router "
                  "stay f32, embeddings and the head at least q8 unless kept as stored. Default: auto for a GGUF "
                  "file, f16 for a checkpoint");
  add_context_option(*sub, args->context, "Context length (KV cache positions) the plan is sized for (0: min(4096, the model's positions))")->capture_default_str();
  sub->add_option("--prefill-chunk", args->prefill_chunk,
                  "Most tokens per step (prefill submit); 0: chosen from the model (64 to 512, docs/runtime.md)")
      ->check(CLI::Validator(
          [](const std::string& v) { return !v.empty() && v[0] == '-' ? std::string("must be >= 0") : std::string(); },
          "INT>=0"))
      ->capture_default_str();
  sub->add_option("--q4-group", args->q4_group, "q4 group size: 32 or 128")->capture_default_str();
  sub->add_option("--threads", args->threads,
                  "Threads that dequantise and quantise (0: all hardware threads); the plan is the same for any count")
      ->check(CLI::Range(0, 4096))
      ->capture_default_str();
  sub->add_flag("--dump-plan", args->dump, "Print the plan (tensors, memory, dispatch program) as text");
  sub->add_flag("-v,--verbose", args->verbose, "Print each tensor's format and quantisation error (normalised MSE)");
  sub->callback([args, &selected] { selected = [args] { return run_compile(*args); }; });
}

}  // namespace r1vk::cli
