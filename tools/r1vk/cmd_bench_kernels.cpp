// `r1vk bench-kernels`: f16 GEMV time per call (timestamp queries), achieved GB/s and its
// fraction of the device's copy bandwidth measured with the copy kernel. The GEMV output is
// spot-checked against the CPU, so `--quick` doubles as the demo's compute smoke run.
#include <algorithm>
#include <cstdio>
#include <memory>
#include <optional>
#include <string>

#include "attention_bench.h"
#include "command.h"
#include "kernel_bench.h"
#include "linear_bench.h"
#include "vulkan/context.h"
#include "vulkan/kernels.h"

namespace r1vk::cli {
namespace {

struct BenchFlags {
  std::optional<int> device;
  uint32_t rows = 4096;
  uint32_t cols = 14336;
  int iters = 20;
  bool quick = false;
  std::string variant;  // empty: the device's default
  uint32_t workgroup = 0;
  uint32_t rows_per_workgroup = 0;
  std::string op = "gemv";  // gemv | mla (attention_bench.cpp)
  uint32_t context = 4096;   // --op mla
  uint32_t heads = 128;      // --op mla
  uint32_t mla_tokens = 1;   // --op mla (--tokens)
  uint32_t vocab = 129280;   // --op sample
};

Status run_bench(const BenchFlags& in) {
  if (in.op == "mla") return run_mla_bench({in.device, in.context, in.heads, in.mla_tokens, in.iters, in.quick});
  if (in.op == "sample") return run_sample_bench(in.device, in.quick ? 32000 : in.vocab, in.quick ? 3 : in.iters);
  if (in.op != "gemv") return make_error(ErrorCode::kInvalidArgument, "--op must be gemv, mla or sample");
  BenchFlags f = in;
  if (f.quick) {
    f.rows = std::min<uint32_t>(f.rows, 1024);
    f.cols = std::min<uint32_t>(f.cols, 4096);
    f.iters = std::min(f.iters, 5);
  }
  if (f.rows == 0 || f.cols == 0 || f.iters <= 0)
    return make_error(ErrorCode::kInvalidArgument, "--rows, --cols and --iters must be positive");
  vk::ContextOptions options;
  options.device_index = f.device;
  R1VK_ASSIGN_OR_RETURN(auto ctx, vk::Context::create(options));
  vk::Kernels kernels(*ctx);
  vk::GemvChoice choice = kernels.gemv_choice();
  if (!f.variant.empty()) choice.variant = f.variant;
  if (f.workgroup) choice.workgroup_size = f.workgroup;
  if (f.rows_per_workgroup) choice.rows_per_workgroup = f.rows_per_workgroup;
  kernels.set_gemv_choice(choice);

  std::printf("device [%zu] %s\n", ctx->device_index(), ctx->caps().name.c_str());
  const uint64_t w_bytes = uint64_t{f.rows} * f.cols * 2;
  R1VK_ASSIGN_OR_RETURN(TimingStats copy, bench_copy(*ctx, kernels, w_bytes, f.iters));
  const double copy_gbps = 2.0 * static_cast<double>(w_bytes / 32 * 32) / (copy.median_ms * 1e6);
  std::printf("copy kernel   %8.1f MiB: %8.3f ms/call (min %.3f, cpu %.1f), %7.2f GB/s (read + write)\n",
              static_cast<double>(w_bytes) / (1 << 20), copy.median_ms, copy.min_ms, copy.cpu_ms, copy_gbps);
  R1VK_ASSIGN_OR_RETURN(GemvBenchResult g, bench_gemv_f16(*ctx, kernels, f.rows, f.cols, f.iters));
  std::printf("gemv_f16 %ux%u [%s wg=%u rows/wg=%u]: %8.3f ms/call (min %.3f, cpu %.1f), %7.2f GB/s = %.0f%% of copy, "
              "max rel error %.2g\n",
              f.rows, f.cols, choice.variant.c_str(), choice.workgroup_size, choice.rows_per_workgroup, g.time.median_ms,
              g.time.min_ms, g.time.cpu_ms, g.gbps, 100.0 * g.gbps / copy_gbps, g.max_rel_error);
  if (ctx->validation_errors() != 0)
    return make_error(ErrorCode::kInternal, std::to_string(ctx->validation_errors()) + " Vulkan validation error(s)");
  return ctx->save_pipeline_cache();
}

}  // namespace

void add_bench_kernels_command(CLI::App& app, CommandFn& selected) {
  auto* cmd = app.add_subcommand("bench-kernels", "Time a kernel (GEMV/GEMM per weight format, MLA decode attention, sampler) against the device's copy bandwidth");
  auto f = std::make_shared<BenchFlags>();
  // --op linear: the plan's matrix kernels (linear_bench.h) instead of the foundation f16 GEMV.
  auto op = std::make_shared<std::string>("gemv");
  auto lf = std::make_shared<LinearBenchFlags>();
  cmd->add_option("--op", *op,
                  "Kernel to time: gemv (foundation f16 GEMV, default), linear (the plan's matrix kernels), "
                  "mla (R1 decode attention) or sample (GPU sampler)")
      ->check(CLI::IsMember({"gemv", "gemv_f16", "linear", "mla", "sample"}));
  cmd->add_option("--format", lf->format, "--op linear: weight format f32, f16, q8, q4, fp8, q8_0, q4_k, q6_k (default q4)");
  cmd->add_option("--group", lf->group, "--op linear: q4 group 32 or 128 (default 32)");
  cmd->add_option("--tokens", lf->tokens, "--op linear: rows of x; 1 = GEMV, more = GEMM; --op mla: query rows, 1 = decode, more = a causal prefill chunk ending at --context (default 1)");
  cmd->add_option("--shape", lf->shape, "--op linear: shader shape lanes, sg or shared (default: the device's)");
  cmd->add_option("--shape-rows", lf->shape_rows, "--op linear: rows per lane (lanes) or per workgroup");
  cmd->add_option("--shape-tokens", lf->shape_tokens, "--op linear: tokens per invocation");
  cmd->add_option("--bound", lf->bound,
                  "--op linear: bind W and x as storage buffers (descriptor-bound twin): auto (the device's choice), on, off")
      ->check(CLI::IsMember({"auto", "on", "off"}));
  auto device = std::make_shared<int>(-1);
  auto device_opt = cmd->add_option("--device", *device, "Vulkan device index (see `r1vk devices`)");
  cmd->add_option("--rows", f->rows, "GEMV rows (default 4096)");
  cmd->add_option("--cols", f->cols, "GEMV columns (default 14336)");
  cmd->add_option("--iters", f->iters, "Timed calls per kernel (default 20)");
  cmd->add_flag("--quick", f->quick, "Small shape, few iterations: a smoke run");
  cmd->add_option("--variant", f->variant, "GEMV shader variant (gemv_f16_lanes_desc, gemv_f16_lanes, gemv_f16_sg1, gemv_f16_sg, gemv_f16_shared)");
  cmd->add_option("--wg", f->workgroup, "GEMV workgroup size");
  cmd->add_option("--rows-per-wg", f->rows_per_workgroup, "GEMV rows per workgroup");
  cmd->add_option("--vocab", f->vocab, "--op sample: vocabulary size (default 129280)");
  cmd->add_option("--context", f->context, "--op mla: cache length (default 4096)");
  cmd->add_option("--heads", f->heads, "--op mla: attention heads (default 128, R1; v2-lite has 16)");
  cmd->callback([&selected, f, device, device_opt, op, lf] {
    if (device_opt->count() > 0) f->device = *device;
    f->op = *op == "gemv_f16" ? "gemv" : *op;
    f->mla_tokens = std::max<uint32_t>(1, lf->tokens);
    if (*op == "linear") {
      LinearBenchFlags l = *lf;
      l.device = f->device;
      l.rows = f->rows;
      l.cols = f->cols;
      l.iters = f->iters == 20 ? 0 : f->iters;
      l.quick = f->quick;
      l.workgroup = f->workgroup;
      selected = [l] { return run_linear_bench(l); };
      return;
    }
    selected = [f] { return run_bench(*f); };
  });
}

}  // namespace r1vk::cli
