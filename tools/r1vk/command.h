// How a subcommand plugs into the r1vk CLI: each cmd_*.cpp defines one add_*_command() that
// declares its flags on a CLI11 subcommand and, when that subcommand is chosen, leaves the work
// to run in `selected`. main() runs it after parsing, so errors come back as a Status and never
// as an exception thrown through CLI11.
#pragma once

#include <CLI/CLI.hpp>

#include <functional>

#include "base/status.h"

namespace r1vk::cli {

using CommandFn = std::function<Status()>;

// One line per subcommand, defined in cmd_<name>.cpp.
void add_devices_command(CLI::App& app, CommandFn& selected);
void add_bench_kernels_command(CLI::App& app, CommandFn& selected);
void add_gen_checkpoint_command(CLI::App& app, CommandFn& selected);
void add_info_command(CLI::App& app, CommandFn& selected);
void add_compile_command(CLI::App& app, CommandFn& selected);
void add_logits_command(CLI::App& app, CommandFn& selected);
void add_run_command(CLI::App& app, CommandFn& selected);
void add_bench_command(CLI::App& app, CommandFn& selected);
void add_chat_command(CLI::App& app, CommandFn& selected);
void add_tokenize_command(CLI::App& app, CommandFn& selected);
void add_bench_tokenizer_command(CLI::App& app, CommandFn& selected);
void add_ppl_command(CLI::App& app, CommandFn& selected);
void add_eval_command(CLI::App& app, CommandFn& selected);
void add_serve_command(CLI::App& app, CommandFn& selected);

}  // namespace r1vk::cli
