// `r1vk bench MODEL`: prefill tokens/s on a 512-token prompt, decode tokens/s at context 0 and
// at a long context, the time each kind of op takes in the last prefill chunk and in a decode
// step (timestamp queries), and
// queue submits per decode step. With --batch B1,B2,...: per batch size the batched executor's
// decode step time, aggregate and per-sequence tokens/s, and prefill tokens/s of one sequence
// prefilling in chunks next to B - 1 decoding ones.
#include <algorithm>
#include <chrono>
#include <cstdio>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>

#include "base/progress_bar.h"
#include "command.h"
#include "common_flags.h"
#include "device_context.h"
#include "exec/batch_executor.h"
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
  std::vector<int> batch;  // batch sizes for the batched-executor table; empty: single-sequence bench
};

constexpr int64_t kBatchPosition = 64;  // where --batch decode steps start

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

// The row of the per-op table an op is counted in: its kind, except the output head, which is
// a linear op of its own size (vocab x hidden) and worth seeing apart from the layers' linears.
std::string op_group(const plan::Op& op) {
  if (op.label == "lm_head") return "lm_head";
  return plan::op_kind_name(op.kind);
}

// Time per op kind of one step (timestamp queries), largest first; `limit` kinds (0: all).
void print_op_times(const plan::Manifest& m, const std::vector<double>& times, size_t limit) {
  std::map<std::string, std::pair<double, int>> by_kind;
  double total = 0;
  for (size_t i = 0; i < times.size() && i < m.main.ops.size(); ++i) {
    auto& e = by_kind[op_group(m.main.ops[i])];
    e.first += times[i];
    e.second += 1;
    total += times[i];
  }
  std::vector<std::pair<std::string, std::pair<double, int>>> rows(by_kind.begin(), by_kind.end());
  std::sort(rows.begin(), rows.end(), [](const auto& x, const auto& y) { return x.second.first > y.second.first; });
  std::printf("%.3f ms in all\n", total / 1e6);
  if (limit) rows.resize(std::min(rows.size(), limit));
  for (const auto& [kind, e] : rows) {
    std::printf("  %-14s %4d ops %9.3f ms %5.1f%%\n", kind.c_str(), e.second, e.first / 1e6, 100.0 * e.first / total);
  }
}

// Decode steps of `b` sequences (each at position `pos`, token 0 as its input) and one sequence
// prefilling `prompt` in chunks next to b - 1 decoding sequences.
Status bench_batch(exec::BatchExecutor& ex, int b, int64_t pos, int64_t steps, const std::vector<int32_t>& prompt,
                   double* base_tps) {
  std::vector<exec::SeqId> seqs;
  for (int i = 0; i < b; ++i) {
    R1VK_ASSIGN_OR_RETURN(auto s, ex.add_sequence());
    R1VK_TRY(ex.seek_for_benchmark(s, pos));
    seqs.push_back(s);
  }
  std::vector<exec::BatchExecutor::Entry> decode(seqs.size());
  for (size_t i = 0; i < seqs.size(); ++i) decode[i].seq = seqs[i];
  R1VK_TRY(ex.step(decode));  // warm-up
  // The median step: on a shared machine a few steps stall on other processes.
  std::vector<double> step_s;
  for (int64_t i = 0; i < steps; ++i) {
    const auto t0 = std::chrono::steady_clock::now();
    R1VK_TRY(ex.step(decode));
    step_s.push_back(seconds_since(t0));
  }
  std::sort(step_s.begin(), step_s.end());
  const double dt = step_s[step_s.size() / 2];
  const double agg = static_cast<double>(b) / dt;
  if (*base_tps == 0) *base_tps = agg;
  std::printf("%5d %10.2f %17.2f %19.2f %8.2fx\n", b, 1e3 * dt, agg, 1.0 / dt, agg / *base_tps);
  R1VK_ASSIGN_OR_RETURN(auto times, ex.op_times_ns());
  std::printf("      last step by op (timestamp queries): ");
  print_op_times(ex.model().manifest(), times, 4);

  // Chunked prefill mixed into decode: sequence 0 prefills, the others decode alongside.
  R1VK_TRY(ex.free_sequence(seqs[0]));
  R1VK_ASSIGN_OR_RETURN(seqs[0], ex.add_sequence());
  const size_t piece = ex.max_step_tokens() - static_cast<size_t>(b - 1);
  size_t done = 0;
  int64_t mixed_steps = 0;
  auto t = std::chrono::steady_clock::now();
  while (done < prompt.size()) {
    std::vector<exec::BatchExecutor::Entry> es(decode.begin() + 1, decode.end());
    exec::BatchExecutor::Entry p;
    p.seq = seqs[0];
    const size_t n = std::min(piece, prompt.size() - done);
    p.tokens = std::span(prompt).subspan(done, n);
    es.push_back(p);
    R1VK_TRY(ex.step(es));
    done += n;
    ++mixed_steps;
  }
  const double mt = seconds_since(t);
  std::printf("      mixed: prefill %.1f tokens/s (%zu-token prompt in %lld steps) while %d sequence(s) decode at %.2f tokens/s\n",
              static_cast<double>(prompt.size()) / mt, prompt.size(), static_cast<long long>(mixed_steps), b - 1,
              static_cast<double>((b - 1) * mixed_steps) / mt);
  for (auto s : seqs) R1VK_TRY(ex.free_sequence(s));
  return ok_status();
}

// Checked before the model loads, so a typo costs no compile. A repeated size would time the
// same configuration twice and print a row that looks like a second measurement of another one.
Status check_batch_sizes(const std::vector<int>& sizes) {
  std::vector<int> seen;
  for (int b : sizes) {
    if (b <= 0) return make_error(ErrorCode::kInvalidArgument, "--batch sizes must be positive, got " + std::to_string(b));
    if (std::find(seen.begin(), seen.end(), b) != seen.end()) {
      return make_error(ErrorCode::kInvalidArgument, "--batch lists size " + std::to_string(b) + " twice");
    }
    seen.push_back(b);
  }
  return ok_status();
}

Status run_batch_bench(const BenchArgs& a, exec::Model& model, const std::vector<int32_t>& prompt) {
  const int max_b = *std::max_element(a.batch.begin(), a.batch.end());
  exec::BatchOptions bo;
  bo.max_batch = static_cast<uint32_t>(max_b);
  bo.profile = true;
  R1VK_ASSIGN_OR_RETURN(auto ex, exec::BatchExecutor::create(model, bo));
  std::printf("batched decode from position 64, median of %lld steps per batch size (KV blocks of %u tokens)\n",
              static_cast<long long>(a.decode), ex->block_tokens());
  std::printf("batch    step ms  aggregate tok/s  per-sequence tok/s  vs first size\n");
  double base = 0;
  for (int b : a.batch) R1VK_TRY(bench_batch(*ex, b, kBatchPosition, a.decode, prompt, &base));
  return ok_status();
}

Status run_bench(const BenchArgs& a) {
  if (a.prompt <= 0 || a.decode <= 0 || a.long_context < 0) {
    return make_error(ErrorCode::kInvalidArgument, "--prompt and --decode must be positive, --long-context >= 0");
  }
  R1VK_TRY(check_batch_sizes(a.batch));
  PlanSourceOptions po;
  po.weights = a.weights;
  // --batch: decoders start at position 64 and keep decoding while the prompt prefills.
  const int64_t ctx_needed = a.batch.empty() ? std::max(a.prompt, a.long_context) + a.decode + 2
                                             : kBatchPosition + a.decode + a.prompt + 2;
  po.context = ctx_needed;
  R1VK_ASSIGN_OR_RETURN(plan::LoadedPlan plan, open_model(a.model, po));
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

  std::mt19937 rng(7);
  std::vector<int32_t> prompt(static_cast<size_t>(a.prompt));
  for (auto& t : prompt) t = static_cast<int32_t>(rng() % static_cast<uint32_t>(model.vocab_size()));
  if (!a.batch.empty()) {
    R1VK_TRY(run_batch_bench(a, model, prompt));
    if (ctx->validation_errors() != 0) {
      return make_error(ErrorCode::kInternal, std::to_string(ctx->validation_errors()) + " Vulkan validation error(s)");
    }
    return ok_status();
  }
  exec::SessionOptions so;
  so.profile = true;
  R1VK_ASSIGN_OR_RETURN(auto session, exec::Session::create(model, so));

  const uint32_t submits0 = session->submits();
  auto t = std::chrono::steady_clock::now();
  R1VK_TRY(session->feed(prompt, {}));
  const double prefill_s = seconds_since(t);
  std::printf("prefill: %lld tokens in %.3f s = %.1f tokens/s (%u submits)\n", static_cast<long long>(a.prompt), prefill_s,
              static_cast<double>(a.prompt) / prefill_s, session->submits() - submits0);
  {
    // The last chunk is the one the timestamps hold: the prompt's tail after whole chunks.
    const int64_t chunk = std::min<int64_t>(m.memory.prefill_chunk, model.context_length());
    const int64_t last_rows = a.prompt % chunk == 0 ? chunk : a.prompt % chunk;
    R1VK_ASSIGN_OR_RETURN(auto chunk_times, session->op_times_ns());
    std::printf("prefill chunk by op (timestamp queries, last chunk: %lld rows at positions %lld..%lld): ",
                static_cast<long long>(last_rows), static_cast<long long>(a.prompt - last_rows),
                static_cast<long long>(a.prompt - 1));
    print_op_times(m, chunk_times, 0);
  }

  R1VK_ASSIGN_OR_RETURN(double tps0, time_decode(*session, 0, a.decode));
  const uint32_t before = session->submits();
  R1VK_TRY(decode_step(*session));
  std::printf("decode at context 0: %.2f tokens/s, %u queue submit(s) per step\n", tps0, session->submits() - before);
  print_roofline(plan::decode_traffic(m), tps0, a.bandwidth_gbps);
  if (a.long_context > 0) {
    R1VK_ASSIGN_OR_RETURN(double tps_long, time_decode(*session, a.long_context, a.decode));
    std::printf("decode at context %lld: %.2f tokens/s\n", static_cast<long long>(a.long_context), tps_long);
  }
  R1VK_ASSIGN_OR_RETURN(auto times, session->op_times_ns());

  // Per op kind, from the last decode step (at the long context when one was timed).
  std::printf("decode step by op (timestamp queries, last step): ");
  print_op_times(m, times, 0);
  if (ctx->validation_errors() != 0) {
    return make_error(ErrorCode::kInternal, std::to_string(ctx->validation_errors()) + " Vulkan validation error(s)");
  }
  return ok_status();
}

}  // namespace

void add_bench_command(CLI::App& app, CommandFn& selected) {
  auto a = std::make_shared<BenchArgs>();
  CLI::App* sub = app.add_subcommand("bench", "Measure prefill and decode speed of a model, with per-op prefill-chunk and decode times");
  add_model_option(*sub, a->model, "Plan file or checkpoint directory")->required();
  sub->add_option("--prompt", a->prompt, "Prompt tokens for the prefill measurement")->capture_default_str();
  sub->add_option("--decode", a->decode, "Decode steps per measurement")->capture_default_str();
  sub->add_option("--long-context", a->long_context, "Position of the second decode measurement (0: skip)")->capture_default_str();
  sub->add_option("--weights", a->weights, "Weight format when MODEL is a checkpoint")->capture_default_str();
  sub->add_option("--device", a->device, "Vulkan device index (see r1vk devices)");
  sub->add_option("--bandwidth", a->bandwidth_gbps,
                  "Memory bandwidth in GB/s (e.g. bench-kernels' copy figure): also print decode as a % of its roofline")
      ->check(CLI::PositiveNumber);
  sub->add_option("--batch", a->batch,
                  "Batch sizes (e.g. 1,4,16): instead of the single-sequence report, time batched decode steps "
                  "(step time, aggregate and per-sequence tokens/s) and a prompt's chunked prefill next to the "
                  "other sequences' decode")
      ->delimiter(',');
  sub->callback([a, &selected] { selected = [a] { return run_bench(*a); }; });
}

}  // namespace r1vk::cli
