// r1vk command-line entry point: parses the subcommand and maps its Status to an exit code.
#include <cstdio>

#include <r1vk/version.h>

#include "base/progress_bar.h"
#include "base/temp_files.h"
#include "command.h"
#include "pipeline_setup.h"

namespace {

// Exit codes: 0 success, 1 a runtime failure (bad model file, Vulkan error, ...), 2 bad usage.
constexpr int kExitFailure = 1;
constexpr int kExitUsage = 2;

}  // namespace

int main(int argc, char** argv) {
  r1vk::remove_temp_files_on_signals();  // an interrupted compile leaves no .partial plan behind
  CLI::App app{"r1vk: DeepSeek-R1 family inference on any Vulkan device", "r1vk"};
  app.require_subcommand(1);
  app.set_version_flag("--version", "r1vk " R1VK_VERSION_STRING);
  bool quiet = false;
  app.add_flag("-q,--quiet", quiet, "No progress bars (compile, load, ppl, eval); they are drawn only when stderr is a terminal anyway");
  app.fallthrough();  // so --quiet may follow the subcommand too

  r1vk::cli::CommandFn selected;
  r1vk::cli::add_devices_command(app, selected);
  r1vk::cli::add_bench_kernels_command(app, selected);
  r1vk::cli::add_gen_checkpoint_command(app, selected);
  r1vk::cli::add_info_command(app, selected);
  r1vk::cli::add_compile_command(app, selected);
  r1vk::cli::add_logits_command(app, selected);
  r1vk::cli::add_run_command(app, selected);
  r1vk::cli::add_bench_command(app, selected);
  r1vk::cli::add_chat_command(app, selected);
  r1vk::cli::add_tokenize_command(app, selected);
  r1vk::cli::add_bench_tokenizer_command(app, selected);
  r1vk::cli::add_ppl_command(app, selected);
  r1vk::cli::add_eval_command(app, selected);
  r1vk::cli::add_serve_command(app, selected);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& e) {
    const int code = app.exit(e);
    return code == 0 ? 0 : kExitUsage;
  }
  if (!selected) return kExitUsage;
  r1vk::ProgressBar::set_quiet(quiet);

  r1vk::Status status = selected();
  const int failure = status.ok() ? 0 : status.error().code() == r1vk::ErrorCode::kInvalidArgument ? kExitUsage : kExitFailure;
  // Under MPI (--pipeline) every rank ends the job together: finalize, or report and abort.
  if (r1vk::cli::end_distributed(status, failure)) return 0;
  if (!status.ok()) {
    std::fprintf(stderr, "r1vk: error: %s\n", status.error().message().c_str());
    return status.error().code() == r1vk::ErrorCode::kInvalidArgument ? kExitUsage : kExitFailure;
  }
  return 0;
}
