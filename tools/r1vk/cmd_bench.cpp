// `r1vk bench MODEL`: prefill tokens/s on a 512-token prompt, decode tokens/s at context 0 and
// at a long context, the time each kind of op takes in a decode step (timestamp queries), and
// queue submits per decode step.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <random>

#include "base/progress_bar.h"
#include "command.h"
#include "common_flags.h"
#include "device_context.h"
#include "exec/model.h"
#include "exec/session.h"
#include "plan/decode_traffic.h"
#include "plan_source.h"

namespace r1vk::cli {
namespace {

struct BenchArgs {
  std::string model;
  int64_t prompt = 512;
  int64_t decode = 32;
  int64_t long_context = 4096;
  std::string weights = "q4";
  std::optional<int> device;
  double bandwidth_gbps = 0;  // > 0: report decode as a fraction of this bandwidth roofline
};

double seconds_since(std::chrono::steady_clock::time_point t) {
  return std::chrono::duration<double>(std::chrono::steady_clock::now() - t).count();
}

// One greedy decode step, keeping the step's own error.
Status decode_step(exec::Session& s) {
  auto token = s.step({});
  if (!token.ok()) return std::move(token).error();
  return ok_status();
}

// Decode tokens/s from position `pos` (after one warm-up step).
Result<double> time_decode(exec::Session& s, int64_t pos, int64_t steps) {
  R1VK_TRY(s.seek_for_benchmark(pos));
  R1VK_TRY(decode_step(s));
  const auto t = std::chrono::steady_clock::now();
  for (int64_t i = 0; i < steps; ++i) R1VK_TRY(decode_step(s));
  return static_cast<double>(steps) / seconds_since(t);
}

// Weight bytes per decode token, the bandwidth decode at context 0 achieved, and (with
// --bandwidth) its fraction of the roofline bandwidth / bytes per token.
void print_roofline(const plan::DecodeTraffic& t, double tokens_per_s, double bandwidth_gbps) {
  const double mib = static_cast<double>(t.weight_bytes) / (1 << 20);
  const double gbps = tokens_per_s * static_cast<double>(t.weight_bytes) / 1e9;
  std::printf("decode reads %.1f MiB of weights per token (routed experts %.1f MiB): %.2f GB/s at context 0\n", mib,
              static_cast<double>(t.routed_expert_bytes) / (1 << 20), gbps);
  if (bandwidth_gbps > 0 && t.weight_bytes > 0) {
    const double roofline = bandwidth_gbps * 1e9 / static_cast<double>(t.weight_bytes);
    std::printf("roofline at %.1f GB/s: %.1f tokens/s; decode at context 0 reaches %.1f%% of it\n", bandwidth_gbps, roofline,
                100.0 * tokens_per_s / roofline);
  }
}

Status run_bench(const BenchArgs& a) {
  if (a.prompt <= 0 || a.decode <= 0 || a.long_context < 0) {
    return make_error(ErrorCode::kInvalidArgument, "--prompt and --decode must be positive, --long-context >= 0");
  }
  PlanSourceOptions po;
  po.weights = a.weights;
  po.context = std::max(a.prompt, a.long_context) + a.decode + 2;
  po.prefill_chunk = std::min<int64_t>(a.prompt, 128);
  R1VK_ASSIGN_OR_RETURN(plan::LoadedPlan plan, open_model(a.model, po));
  const int64_t ctx_needed = std::max(a.prompt, a.long_context) + a.decode + 2;
  if (plan.manifest().memory.max_context < ctx_needed) {
    return make_error(ErrorCode::kInvalidArgument, "the plan holds " + std::to_string(plan.manifest().memory.max_context) +
                                                       " positions; this benchmark needs " + std::to_string(ctx_needed) +
                                                       " (lower --long-context or --prompt, or recompile with a larger --ctx)");
  }
  R1VK_ASSIGN_OR_RETURN(auto ctx, open_device(a.device));
  std::printf("device: %s\n", ctx->caps().name.c_str());
  ProgressBar bar("loading", 0);
  exec::ModelOptions mo;
  mo.progress = [&bar](uint64_t done, uint64_t total) { bar.update(done, total); };
  auto loaded = exec::Model::load(*ctx, std::move(plan), mo);
  bar.finish();
  if (!loaded.ok()) return std::move(loaded).error();
  exec::Model& model = **loaded;
  const plan::Manifest& m = model.manifest();
  std::printf("model: %s, %s weights, %.1f MiB on the device, prefill chunk %lld\n", m.model_name.c_str(),
              m.weights_requested.c_str(), static_cast<double>(model.weights().device_bytes()) / (1 << 20),
              static_cast<long long>(m.memory.prefill_chunk));

  exec::SessionOptions so;
  so.profile = true;
  R1VK_ASSIGN_OR_RETURN(auto session, exec::Session::create(model, so));
  std::mt19937 rng(7);
  std::vector<int32_t> prompt(static_cast<size_t>(a.prompt));
  for (auto& t : prompt) t = static_cast<int32_t>(rng() % static_cast<uint32_t>(model.vocab_size()));

  const uint32_t submits0 = session->submits();
  auto t = std::chrono::steady_clock::now();
  R1VK_TRY(session->feed(prompt, {}));
  const double prefill_s = seconds_since(t);
  std::printf("prefill: %lld tokens in %.3f s = %.1f tokens/s (%u submits)\n", static_cast<long long>(a.prompt), prefill_s,
              static_cast<double>(a.prompt) / prefill_s, session->submits() - submits0);

  R1VK_ASSIGN_OR_RETURN(double tps0, time_decode(*session, 0, a.decode));
  const uint32_t before = session->submits();
  R1VK_TRY(decode_step(*session));
  std::printf("decode at context 0: %.2f tokens/s, %u queue submit(s) per step\n", tps0, session->submits() - before);
  print_roofline(plan::decode_traffic(m), tps0, a.bandwidth_gbps);
  if (a.long_context > 0) {
    R1VK_ASSIGN_OR_RETURN(double tps_long, time_decode(*session, a.long_context, a.decode));
    std::printf("decode at context %lld: %.2f tokens/s\n", static_cast<long long>(a.long_context), tps_long);
  }
  R1VK_ASSIGN_OR_RETURN(auto times, session->decode_op_times_ns());

  // Per op kind, from the last decode step (at the long context when one was timed).
  std::map<std::string, std::pair<double, int>> by_kind;
  double total = 0;
  for (size_t i = 0; i < times.size() && i < m.main.ops.size(); ++i) {
    auto& e = by_kind[plan::op_kind_name(m.main.ops[i].kind)];
    e.first += times[i];
    e.second += 1;
    total += times[i];
  }
  std::vector<std::pair<std::string, std::pair<double, int>>> rows(by_kind.begin(), by_kind.end());
  std::sort(rows.begin(), rows.end(), [](const auto& x, const auto& y) { return x.second.first > y.second.first; });
  std::printf("decode step by op (timestamp queries, last step): %.3f ms in all\n", total / 1e6);
  for (const auto& [kind, e] : rows) {
    std::printf("  %-14s %4d ops %9.3f ms %5.1f%%\n", kind.c_str(), e.second, e.first / 1e6, 100.0 * e.first / total);
  }
  if (ctx->validation_errors() != 0) {
    return make_error(ErrorCode::kInternal, std::to_string(ctx->validation_errors()) + " Vulkan validation error(s)");
  }
  return ok_status();
}

}  // namespace

void add_bench_command(CLI::App& app, CommandFn& selected) {
  auto a = std::make_shared<BenchArgs>();
  CLI::App* sub = app.add_subcommand("bench", "Measure prefill and decode speed of a model, with per-op decode times");
  add_model_option(*sub, a->model, "Plan file or checkpoint directory")->required();
  sub->add_option("--prompt", a->prompt, "Prompt tokens for the prefill measurement")->capture_default_str();
  sub->add_option("--decode", a->decode, "Decode steps per measurement")->capture_default_str();
  sub->add_option("--long-context", a->long_context, "Position of the second decode measurement (0: skip)")->capture_default_str();
  sub->add_option("--weights", a->weights, "Weight format when MODEL is a checkpoint")->capture_default_str();
  sub->add_option("--device", a->device, "Vulkan device index (see r1vk devices)");
  sub->add_option("--bandwidth", a->bandwidth_gbps,
                  "Memory bandwidth in GB/s (e.g. bench-kernels' copy figure): also print decode as a % of its roofline")
      ->check(CLI::PositiveNumber);
  sub->callback([a, &selected] { selected = [a] { return run_bench(*a); }; });
}

}  // namespace r1vk::cli
