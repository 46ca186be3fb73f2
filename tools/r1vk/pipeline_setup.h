// The pipeline flags of the model commands (run, logits): --devices 0,1 splits the model's layers
// into stages on those Vulkan devices in this process; --pipeline under `mpirun -np N` makes MPI
// rank r stage r (rank 0 coordinates, the others only execute). Layers follow --split ratios
// (default: by each stage's device memory). Opens the stages and the Pipeline that drives them
// (exec/pipeline.h, mpi/mpi_pipeline.h).
#pragma once

#include <CLI/CLI.hpp>

#include <functional>
#include <optional>
#include <memory>
#include <string>
#include <vector>

#include "base/status.h"
#include "exec/batch_executor.h"
#include "exec/model.h"
#include "exec/pipeline.h"
#include "plan/loaded_plan.h"
#include "vulkan/context.h"

namespace r1vk::cli {

struct PipelineFlags {
  std::string devices;  // "0,1": one stage per listed device; empty: no pipeline
  std::string split;    // "1,3": layer ratios per stage; empty: by device memory
  bool mpi = false;     // --pipeline: one stage per MPI rank
  double timeout_s = 60;  // --pipeline-timeout: longest wait for another rank
  uint32_t micro_batches = 0;  // --micro-batches: groups per step of several sequences (0: one per stage)
  bool active() const { return !devices.empty() || mpi; }
};

// --devices, --split, --pipeline, --pipeline-timeout, --micro-batches.
void add_pipeline_options(CLI::App& sub, PipelineFlags& flags);

struct PipelineModel {
  std::vector<std::unique_ptr<vk::Context>> contexts;  // one per stage
  std::vector<std::unique_ptr<exec::Model>> models;    // stage i's layers, weights and kernels
  std::shared_ptr<exec::Pipeline> pipeline;
  std::vector<exec::LayerRange> layers;                // per stage
  // MPI ranks > 0 serve their stage inside open_pipeline until rank 0 stops them; the command
  // then returns worker_status without doing anything else.
  bool worker = false;
  Status worker_status;
  exec::Model& first() { return *models.front(); }
  exec::Model& last() { return *models.back(); }
};

// The checks of the pipeline flags that need neither a device nor the model: --devices (decimal
// indices, at least two) and --split (positive ratios, one per device, or under --pipeline one per
// MPI rank: MPI is initialised here), and the flags that exclude each other (--pipeline and
// --devices, --device and --devices). open_pipeline applies them too; `r1vk serve` calls it before
// it listens, so a mistake is reported before the "listening" line. Errors: kInvalidArgument.
Status check_pipeline_flags(const PipelineFlags& flags, std::optional<int> device = {});

// With --pipeline: this process's MPI rank (MPI is initialised here; a command whose rank 0 does
// more than execute, such as serve's HTTP server, asks before starting it). 0 otherwise.
Result<int> pipeline_rank(const PipelineFlags& flags);

// Opens one stage per device of `flags` (open_plan is called once per stage), each a
// BatchExecutor with `options`, and the pipeline over them. With flags.mpi, this rank's stage on
// `device` (MPI ranks > 0: served until rank 0 is done, see PipelineModel::worker).
// `prepare` runs on each stage's model after it loads (e.g. the sampler's vocabulary limit).
Result<PipelineModel> open_pipeline(const PipelineFlags& flags, const std::function<Result<plan::LoadedPlan>()>& open_plan,
                                    const exec::BatchOptions& options, std::optional<int> device = {},
                                    const std::function<void(exec::Model&)>& prepare = {});

// Called by main with the command's status: under MPI, ends the job on every rank (MPI_Finalize,
// or after an error, the message with this rank's number and MPI_Abort). Returns false when MPI
// is not in use (main reports the status itself).
bool end_distributed(const Status& status, int exit_code);

// "[pipeline: 2 stages, layers 0-1 | 2-3 | per-stage ms per step 1.20 | 1.31 | busy 48% | 52% |
// ... micro-batches ... | N rows, B hidden bytes per row sent between stages]" on stderr.
void print_pipeline_stats(const PipelineModel& pm);
// "per-stage ms per step a | b | busy x% | y%": each stage's `seconds` over `steps` steps, and as a
// share of `step_seconds`, the steps' wall time (its utilisation).
std::string format_stage_stats(const std::vector<double>& seconds, double step_seconds, uint64_t steps);

}  // namespace r1vk::cli
