#include "pipeline_setup.h"

#include <cstdio>

#include "base/progress_bar.h"
#include "device_context.h"
#include "exec/stage.h"
#ifdef R1VK_HAVE_MPI
#include "mpi/mpi_pipeline.h"
#endif

namespace r1vk::cli {
namespace {

// A comma-separated list: of device indices (decimal digits only, so "0x1" or "1e0" are refused)
// or of split ratios (decimal numbers such as 1, 3 or 0.5).
enum class ListKind { kDeviceIndices, kRatios };

Result<std::vector<double>> parse_numbers(const std::string& text, const std::string& flag, ListKind kind) {
  const bool indices = kind == ListKind::kDeviceIndices;
  std::vector<double> out;
  size_t start = 0;
  while (start <= text.size()) {
    const size_t comma = text.find(',', start);
    const std::string item = text.substr(start, comma == std::string::npos ? std::string::npos : comma - start);
    const size_t digits = item.find_first_not_of("0123456789");
    const bool decimal = digits != 0 && (digits == std::string::npos ||
                                         (!indices && item[digits] == '.' && digits + 1 < item.size() &&
                                          item.find_first_not_of("0123456789", digits + 1) == std::string::npos));
    if (item.empty() || !decimal) {
      return make_error(ErrorCode::kInvalidArgument,
                        flag + ": '" + item + "' is not " +
                            (indices ? "a device index (expected decimal indices, e.g. 0,1)" : "a ratio (expected positive numbers, e.g. 1,3)"));
    }
    out.push_back(std::stod(item));
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  return out;
}

// Device-local memory of a device: its budget where VK_EXT_memory_budget reports one, else the
// heap size (the stage's share of the layers follows it).
double device_memory(const vk::Context& ctx) {
  double bytes = 0;
  for (const auto& h : ctx.caps().heaps) {
    if (h.device_local) bytes += static_cast<double>(h.budget ? h.budget : h.size);
  }
  return bytes > 0 ? bytes : 1.0;
}

}  // namespace

void add_pipeline_options(CLI::App& sub, PipelineFlags& flags) {
  sub.add_option("--devices", flags.devices,
                 "Pipeline the model's layers over these Vulkan devices, one stage each, e.g. 0,1 (see r1vk devices; "
                 "a device may repeat)");
  sub.add_option("--split", flags.split,
                 "With --devices or --pipeline: layer ratios per stage, e.g. 1,3 (default: by each device's memory)");
  sub.add_flag("--pipeline", flags.mpi,
               "Under mpirun -np N (N >= 2): rank r runs stage r of the model's layers; rank 0 tokenizes and "
               "schedules, the others only execute (docs/pipeline.md)");
  sub.add_option("--pipeline-timeout", flags.timeout_s,
                 "With --pipeline: seconds to wait for another rank before naming it lost and ending the job")
      ->capture_default_str()
      ->check(CLI::PositiveNumber);
  sub.add_option("--micro-batches", flags.micro_batches,
                 "With --devices or --pipeline: cut a step of several sequences into up to N micro-batches that "
                 "flow through the stages one after the other (stage k works on one while stage k+1 works on the "
                 "previous); 1: off, 0: one per stage")
      ->capture_default_str();
  // --split or --micro-batches alone would be ignored silently: the user meant a pipeline and did not get one.
  sub.parse_complete_callback([&flags] {
    if (!flags.split.empty() && !flags.active()) throw CLI::ValidationError("--split", "needs --devices or --pipeline");
    if (flags.micro_batches != 0 && !flags.active()) throw CLI::ValidationError("--micro-batches", "needs --devices or --pipeline");
  });
}

#ifdef R1VK_HAVE_MPI
namespace {

Result<PipelineModel> open_mpi_pipeline(const PipelineFlags& flags, const std::function<Result<plan::LoadedPlan>()>& open_plan,
                                        const exec::BatchOptions& options, std::optional<int> device,
                                        const std::function<void(exec::Model&)>& prepare) {
  R1VK_ASSIGN_OR_RETURN(mpi::World world, mpi::init_world());  // world.size >= 2: check_pipeline_flags
  PipelineModel pm;
  R1VK_ASSIGN_OR_RETURN(auto ctx, open_device(device));
  std::vector<double> ratios;
  R1VK_ASSIGN_OR_RETURN(ratios, mpi::all_gather(device_memory(*ctx)));
  if (!flags.split.empty()) {
    R1VK_ASSIGN_OR_RETURN(ratios, parse_numbers(flags.split, "--split", ListKind::kRatios));
  }
  // Rank 0 opens (for a checkpoint: compiles into the shared cache) before the others read it.
  std::optional<plan::LoadedPlan> plan;
  if (world.rank == 0) {
    R1VK_ASSIGN_OR_RETURN(plan, open_plan());
  }
  R1VK_TRY(mpi::barrier());
  if (world.rank != 0) {
    R1VK_ASSIGN_OR_RETURN(plan, open_plan());
  }
  R1VK_ASSIGN_OR_RETURN(pm.layers, exec::split_layers(exec::program_layers(plan->manifest().main), ratios));
  exec::ModelOptions mo;
  R1VK_ASSIGN_OR_RETURN(mo.stage, exec::stage_ops(plan->manifest().main, pm.layers[static_cast<size_t>(world.rank)]));
  auto model = exec::Model::load(*ctx, std::move(*plan), mo);
  if (!model.ok()) return std::move(model).error().with_context("pipeline rank " + std::to_string(world.rank));
  pm.contexts.push_back(std::move(ctx));
  pm.models.push_back(std::move(model).value());
  if (prepare) prepare(*pm.models.back());
  R1VK_ASSIGN_OR_RETURN(auto e, exec::BatchExecutor::create(*pm.models.back(), options));
  std::shared_ptr<exec::BatchExecutor> stage = std::move(e);
  const exec::LayerRange mine = pm.layers[static_cast<size_t>(world.rank)];
  // Every rank loaded before rank 0 starts: the step deadlines then measure steps, not loading.
  R1VK_TRY(mpi::barrier());
  std::fprintf(stderr, "[pipeline rank %d of %d ready: layers %lld-%lld]\n", world.rank, world.size,
               static_cast<long long>(mine.first), static_cast<long long>(mine.end - 1));
  if (world.rank != 0) {
    pm.worker = true;
    pm.worker_status = mpi::serve_stage(world, *stage, flags.timeout_s);
    return pm;
  }
  auto chain = std::make_unique<mpi::MpiStageChain>(world, stage->hidden_size(), pm.models[0]->vocab_size(),
                                                    options.keep_logits, flags.timeout_s);
  R1VK_ASSIGN_OR_RETURN(auto p, exec::Pipeline::create(stage, std::move(chain)));
  pm.pipeline = std::move(p);
  pm.pipeline->set_micro_batches(flags.micro_batches);
  return pm;
}

}  // namespace
#endif

namespace {

// --split's ratios: positive numbers, `stages` of them (`what`: "devices" or "ranks").
Status check_split(const std::string& split, size_t stages, const std::string& what) {
  if (split.empty()) return ok_status();
  R1VK_ASSIGN_OR_RETURN(const std::vector<double> ratios, parse_numbers(split, "--split", ListKind::kRatios));
  if (ratios.size() != stages) {
    return make_error(ErrorCode::kInvalidArgument, "--split gives " + std::to_string(ratios.size()) + " ratios for " +
                                                       std::to_string(stages) + " " + what);
  }
  for (double r : ratios) {
    if (!(r > 0)) return make_error(ErrorCode::kInvalidArgument, "--split: split ratios must be positive numbers");
  }
  return ok_status();
}

}  // namespace

Status check_pipeline_flags(const PipelineFlags& flags, std::optional<int> device) {
  if (!flags.active()) return ok_status();
  if (flags.mpi) {
    if (!flags.devices.empty()) return make_error(ErrorCode::kInvalidArgument, "--pipeline and --devices exclude each other");
#ifdef R1VK_HAVE_MPI
    R1VK_ASSIGN_OR_RETURN(mpi::World world, mpi::init_world());
    if (world.size < 2) {
      return make_error(ErrorCode::kInvalidArgument, "--pipeline needs at least two MPI ranks: mpirun -np N r1vk ... --pipeline");
    }
    return check_split(flags.split, static_cast<size_t>(world.size), "ranks");
#else
    return make_error(ErrorCode::kUnsupported, "--pipeline needs r1vk built with MPI (install libopenmpi-dev and rebuild)");
#endif
  }
  if (device) return make_error(ErrorCode::kInvalidArgument, "--device and --devices exclude each other");
  R1VK_ASSIGN_OR_RETURN(const auto device_numbers, parse_numbers(flags.devices, "--devices", ListKind::kDeviceIndices));
  if (device_numbers.size() < 2) return make_error(ErrorCode::kInvalidArgument, "--devices needs at least two devices, e.g. 0,1");
  for (double d : device_numbers) {
    if (d > 65535) {  // digits only (parse_numbers), so a whole number; this bound keeps open_pipeline's cast defined
      return make_error(ErrorCode::kInvalidArgument, "--devices: " + std::to_string(static_cast<uint64_t>(d)) + " is not a device index");
    }
  }
  return check_split(flags.split, device_numbers.size(), "devices");
}

Result<int> pipeline_rank(const PipelineFlags& flags) {
  if (!flags.mpi) return 0;
#ifdef R1VK_HAVE_MPI
  R1VK_ASSIGN_OR_RETURN(mpi::World world, mpi::init_world());
  return world.rank;
#else
  return make_error(ErrorCode::kUnsupported, "--pipeline needs r1vk built with MPI (install libopenmpi-dev and rebuild)");
#endif
}

bool end_distributed(const Status& status, int exit_code) {
#ifdef R1VK_HAVE_MPI
  if (!mpi::world_initialized()) return false;
  if (status.ok()) {
    mpi::finalize_world();
    return true;
  }
  int rank = 0;
  if (auto w = mpi::init_world(); w.ok()) rank = w->rank;
  std::fprintf(stderr, "r1vk: error (pipeline rank %d): %s\n", rank, status.error().message().c_str());
  mpi::abort_world(exit_code);
#else
  (void)status;
  (void)exit_code;
  return false;
#endif
}

Result<PipelineModel> open_pipeline(const PipelineFlags& flags, const std::function<Result<plan::LoadedPlan>()>& open_plan,
                                    const exec::BatchOptions& options, std::optional<int> device,
                                    const std::function<void(exec::Model&)>& prepare) {
  R1VK_TRY(check_pipeline_flags(flags, device));
#ifdef R1VK_HAVE_MPI
  if (flags.mpi) return open_mpi_pipeline(flags, open_plan, options, device, prepare);
#endif
  R1VK_ASSIGN_OR_RETURN(auto device_numbers, parse_numbers(flags.devices, "--devices", ListKind::kDeviceIndices));
  PipelineModel pm;
  std::vector<double> ratios;
  for (double d : device_numbers) {
    R1VK_ASSIGN_OR_RETURN(auto ctx, open_device(static_cast<int>(d)));  // d <= 65535: check_pipeline_flags
    ratios.push_back(device_memory(*ctx));
    pm.contexts.push_back(std::move(ctx));
  }
  if (!flags.split.empty()) {
    R1VK_ASSIGN_OR_RETURN(ratios, parse_numbers(flags.split, "--split", ListKind::kRatios));
  }
  std::vector<std::shared_ptr<exec::BatchExecutor>> executors;
  for (size_t i = 0; i < pm.contexts.size(); ++i) {
    R1VK_ASSIGN_OR_RETURN(plan::LoadedPlan plan, open_plan());
    if (i == 0) {
      R1VK_ASSIGN_OR_RETURN(pm.layers, exec::split_layers(exec::program_layers(plan.manifest().main), ratios));
    }
    exec::ModelOptions mo;
    R1VK_ASSIGN_OR_RETURN(mo.stage, exec::stage_ops(plan.manifest().main, pm.layers[i]));
    ProgressBar bar("loading stage " + std::to_string(i), 0);
    mo.progress = [&bar](uint64_t done, uint64_t total) { bar.update(done, total); };
    auto model = exec::Model::load(*pm.contexts[i], std::move(plan), mo);
    bar.finish();
    if (!model.ok()) return std::move(model).error().with_context("pipeline stage " + std::to_string(i));
    pm.models.push_back(std::move(model).value());
    if (prepare) prepare(*pm.models.back());
    R1VK_ASSIGN_OR_RETURN(auto e, exec::BatchExecutor::create(*pm.models.back(), options));
    executors.push_back(std::move(e));
  }
  std::shared_ptr<exec::BatchExecutor> first = executors.front();
  executors.erase(executors.begin());
  R1VK_ASSIGN_OR_RETURN(auto p, exec::Pipeline::create(first, std::make_unique<exec::LocalStageChain>(std::move(executors))));
  pm.pipeline = std::move(p);
  pm.pipeline->set_micro_batches(flags.micro_batches);
  return pm;
}

std::string format_stage_stats(const std::vector<double>& seconds, double step_seconds, uint64_t steps) {
  std::string times, busy;
  char buf[48];
  for (size_t i = 0; i < seconds.size(); ++i) {
    std::snprintf(buf, sizeof buf, "%s%.3f", i ? " | " : "", seconds[i] * 1e3 / static_cast<double>(std::max<uint64_t>(steps, 1)));
    times += buf;
    std::snprintf(buf, sizeof buf, "%s%.0f%%", i ? " | " : "", step_seconds > 0 ? 100.0 * seconds[i] / step_seconds : 0.0);
    busy += buf;
  }
  return "per-stage ms per step " + times + " | busy " + busy;
}

void print_pipeline_stats(const PipelineModel& pm) {
  const exec::Pipeline& p = *pm.pipeline;
  const double rows = static_cast<double>(std::max<uint64_t>(p.rows_stepped(), 1));
  std::string layers;
  for (size_t i = 0; i < pm.layers.size(); ++i) {
    layers += (i ? " | " : "") + std::to_string(pm.layers[i].first) + "-" + std::to_string(pm.layers[i].end - 1);
  }
  std::fprintf(stderr, "[pipeline: %zu stages, layers %s | %s | %.2f micro-batches per step | %llu rows, %.0f hidden bytes per row sent between stages]\n",
               p.stages(), layers.c_str(), format_stage_stats(p.stage_seconds(), p.step_seconds(), p.steps()).c_str(),
               static_cast<double>(p.micro_batches_run()) / static_cast<double>(std::max<uint64_t>(p.steps(), 1)),
               static_cast<unsigned long long>(p.rows_stepped()), static_cast<double>(p.hidden_bytes_sent()) / rows);
}

}  // namespace r1vk::cli
