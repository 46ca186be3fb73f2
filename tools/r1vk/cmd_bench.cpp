// `r1vk bench MODEL`: prefill tokens/s on a 512-token prompt, decode tokens/s at context 0 and
// at a long context, the time each kind of op takes in the last prefill chunk and in a decode
// step (timestamp queries), and
// queue submits per decode step. With --batch B1,B2,...: per batch size the batched executor's
// decode step time, aggregate and per-sequence tokens/s, and prefill tokens/s of one sequence
// prefilling in chunks next to B - 1 decoding ones. For MoE models, where the routed experts live
// (--gpu-memory), what decode read from host memory per token (the routers' GPU counters) and
// the tokens/s that projects to for a stated device and bus bandwidth (docs/offload.md). Behind a
// pipeline (--devices/--pipeline), batched decode steps with per-stage figures (docs/pipeline.md).
#include <algorithm>
#include <filesystem>
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
#include "cpu_driver_threads.h"
#include "device_context.h"
#include "exec/batch_executor.h"
#include "exec/executor_memory.h"
#include "exec/model.h"
#include "exec/session.h"
#include "plan/decode_traffic.h"
#include "offload_flags.h"
#include "pipeline_setup.h"
#include "import/gguf_import.h"
#include "plan_source.h"
#include "text/chat_format.h"
#include "text/tokenizer.h"

namespace r1vk::cli {
namespace {

struct BenchArgs {
  std::string model;
  int64_t prompt = 512;
  int64_t decode = 32;
  int64_t long_context = 4096;
  std::string weights = "q4";
  std::optional<int> device;
  PipelineFlags pipeline;
  double bandwidth_gbps = 0;  // > 0: report decode as a fraction of this bandwidth roofline
  std::vector<int> batch;  // batch sizes for the batched-executor table; empty: single-sequence bench
  OffloadFlags offload;
  double bus_gbps = 25;  // PCIe 4.0 x16 in practice
  std::string save_expert_counts;
  int64_t mtp_decode = 128;  // greedy tokens decoded with and without MTP drafts (0: skip)
  float mtp_min_acceptance = 0.3f;  // the automatic-off run's threshold (BatchOptions::draft_min_acceptance)
  uint32_t mtp_draft = 1;  // drafts per step of the MTP runs
  bool each_op = false;  // also list every op of the prefill chunk and the decode step
  std::vector<std::string> mtp_questions = {"What is 4512 + 873?", "What is 31415 - 92653?", "What is 271828 + 314159?",
                                            "What is 9000 - 1?"};
};

// Device bandwidth of the projection when --bandwidth is not given: a 24 GB card of the RTX 4090
// class (1008 GB/s peak).
constexpr double kProjectionDeviceGbps = 1000;

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

// The prompts of the MTP measurement: the chat questions rendered with the plan's tokenizer and
// chat template when it has them (MTP acceptance is a property of the text: a random prompt makes
// a trained model write text its MTP layer never learnt to predict), else the random prompt.
struct MtpPrompts {
  std::vector<std::vector<int32_t>> prompts;
  int32_t eos = -1;  // generation of a chat prompt stops here
};

MtpPrompts mtp_prompts(const plan::Manifest& m, const std::vector<std::string>& questions, const std::vector<int32_t>& fallback) {
  MtpPrompts p;
  if (m.has_tokenizer()) {
    auto tok = text::Tokenizer::from_json(m.tokenizer_json, m.tokenizer_config_json);
    if (tok.ok()) {
      auto chat = text::R1ChatFormat::from_tokenizer(*tok);
      if (chat.ok()) {
        for (const std::string& q : questions) {
          const text::ChatMessage msg{text::ChatRole::kUser, q};
          auto ids = chat->encode(std::span(&msg, 1), /*add_generation_prompt=*/true);
          if (ids.ok()) p.prompts.emplace_back(ids->begin(), ids->end());
        }
        p.eos = static_cast<int32_t>(chat->eos_id());
      }
    }
  }
  if (p.prompts.empty()) {
    p.prompts = {fallback};
    p.eos = -1;
  }
  return p;
}

// Greedy decoding of up to `tokens` tokens after each prompt (until the end of sentence),
// without MTP, with MTP verifying every draft, and with MTP's automatic off at low acceptance
// (BatchOptions::draft_min_acceptance), in alternation (the best of four rounds each after a
// warm-up: other jobs on a shared machine only ever add time): tokens/s, time per step, draft
// acceptance, and what a step that verifies a draft costs over a plain one, which is the
// acceptance MTP needs to pay off.
Status bench_mtp(exec::Model& model, const MtpPrompts& prompts, int64_t tokens, float min_acceptance, uint32_t draft) {
  if (model.manifest().mtp.ops.empty()) {
    std::printf("MTP: the plan has no MTP program (no speculative decoding)\n");
    return ok_status();
  }
  constexpr int kVariants = 3;  // without MTP, every draft verified, automatic off
  constexpr int kRounds = 5;
  double best_s[kVariants] = {1e30, 1e30, 1e30};
  uint32_t steps[kVariants] = {0, 0, 0};
  int64_t produced[kVariants] = {0, 0, 0};
  exec::DraftStats drafts[kVariants];
  std::vector<int32_t> out[kVariants];
  std::unique_ptr<exec::Session> sessions[kVariants];
  for (int v = 0; v < kVariants; ++v) {
    exec::SessionOptions so;
    so.draft_tokens = v > 0 ? static_cast<int>(draft) : 0;
    so.draft_min_acceptance = v == 2 ? min_acceptance : 0.0f;
    R1VK_ASSIGN_OR_RETURN(sessions[v], exec::Session::create(model, so));
  }
  // Round 0 warms up (first use of each command buffer and buffer); the best of the others counts.
  for (int round = 0; round < kRounds; ++round) {
    for (int v = 0; v < kVariants; ++v) {
      exec::Session* s = sessions[v].get();
      const exec::DraftStats before = s->draft_stats();
      std::vector<int32_t> got;
      double secs = 0;
      uint32_t submits = 0;
      for (const auto& prompt : prompts.prompts) {
        s->reset();
        R1VK_TRY(s->feed(prompt, {}));
        got.push_back(s->last_token());
        const uint32_t submits0 = s->submits();
        const auto t = std::chrono::steady_clock::now();
        for (int64_t n = 0; n < tokens && got.back() != prompts.eos && s->position() < s->context_length(); ++n) {
          R1VK_ASSIGN_OR_RETURN(int32_t token, s->step({}));
          got.push_back(token);
        }
        secs += seconds_since(t);
        submits += s->submits() - submits0;
      }
      if (round > 0 && secs < best_s[v]) {
        best_s[v] = secs;
        steps[v] = submits;
      }
      produced[v] = static_cast<int64_t>(got.size() - prompts.prompts.size());
      out[v] = std::move(got);
      const exec::DraftStats after = s->draft_stats();
      drafts[v] = {};
      drafts[v].proposed = after.proposed - before.proposed;
      drafts[v].accepted = after.accepted - before.accepted;
      drafts[v].pauses = after.pauses - before.pauses;
      drafts[v].plain_steps = after.plain_steps - before.plain_steps;
      for (size_t j = 0; j < after.proposed_at.size(); ++j) {
        drafts[v].proposed_at[j] = after.proposed_at[j] - before.proposed_at[j];
        drafts[v].accepted_at[j] = after.accepted_at[j] - before.accepted_at[j];
      }
    }
  }
  double tps[kVariants], step_s[kVariants];
  for (int v = 0; v < kVariants; ++v) {
    tps[v] = static_cast<double>(produced[v]) / best_s[v];
    step_s[v] = best_s[v] / std::max(1u, steps[v]);
  }
  auto rate = [](const exec::DraftStats& d) {
    return d.proposed ? static_cast<double>(d.accepted) / static_cast<double>(d.proposed) : 0.0;
  };
  std::printf("MTP speculative decoding (greedy, %u draft(s) per step, %lld tokens after %zu %s prompt(s), best of %d runs after "
              "a warm-up): %.2f tokens/s without, %.2f with (%.2fx); %llu of %llu drafts accepted (%.1f%%); output %s\n",
              draft, static_cast<long long>(produced[0]), prompts.prompts.size(), prompts.eos >= 0 ? "chat" : "random", kRounds - 1,
              tps[0], tps[1], tps[1] / tps[0], static_cast<unsigned long long>(drafts[1].accepted),
              static_cast<unsigned long long>(drafts[1].proposed), 100.0 * rate(drafts[1]),
              out[0] == out[1] ? "identical" : "DIFFERS");
  if (draft > 1) {
    // Depth j's acceptance given the drafts before it stood (the MTP layer on its own output).
    std::printf("    acceptance by draft position (given the ones before stood):");
    for (uint32_t j = 0; j < draft; ++j) {
      const uint64_t p = drafts[1].proposed_at[j], acc = drafts[1].accepted_at[j];
      std::printf(" %u: %llu of %llu (%.1f%%)", j + 1, static_cast<unsigned long long>(acc), static_cast<unsigned long long>(p),
                  p ? 100.0 * static_cast<double>(acc) / static_cast<double>(p) : 0.0);
    }
    std::printf("\n");
  }
  // An MTP step emits 1 + (drafts accepted) tokens for step1 / step0 the time of a plain step,
  // so it pays off above step1 / step0 tokens per step; with one draft that is an acceptance
  // above step1 / step0 - 1 (with several it depends on the acceptance at each depth).
  const double per_step = static_cast<double>(produced[1]) / std::max(1u, steps[1]);
  const double break_even = step_s[1] / step_s[0];
  if (draft == 1) {
    std::printf("    a step takes %.2f ms without MTP and %.2f ms with (%.2f tokens per step): a rejected draft costs "
                "%.2f ms; MTP pays off above %.0f%% acceptance\n",
                1e3 * step_s[0], 1e3 * step_s[1], per_step, 1e3 * (step_s[1] - step_s[0]),
                100.0 * std::max(0.0, break_even - 1.0));
  } else {
    std::printf("    a step takes %.2f ms without MTP and %.2f ms with %u drafts (%.2f tokens per step): MTP pays off "
                "above %.2f tokens per step\n",
                1e3 * step_s[0], 1e3 * step_s[1], draft, per_step, break_even);
  }
  std::printf("    with automatic off below %.0f%% acceptance (--mtp-min-acceptance): %.2f tokens/s (%.2fx), %llu of %llu drafts "
              "accepted, %llu pauses, %llu steps (prefill included) without the MTP program; output %s\n",
              100.0 * min_acceptance, tps[2], tps[2] / tps[0], static_cast<unsigned long long>(drafts[2].accepted),
              static_cast<unsigned long long>(drafts[2].proposed), static_cast<unsigned long long>(drafts[2].pauses),
              static_cast<unsigned long long>(drafts[2].plain_steps), out[0] == out[2] ? "identical" : "DIFFERS");
  return ok_status();
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

constexpr double kMiB = 1 << 20;

// Where the routed experts are, before anything runs.
void print_placement(const exec::Model& model) {
  const exec::MemoryLayout& l = model.memory_layout();
  const exec::ExpertPlacement& p = l.experts;
  if (p.experts == 0) return;
  std::printf("routed experts: %llu of %llu on the device (%.3f MiB), %.3f MiB in host memory; device budget %.1f MiB (%s), "
              "%llu bytes of it for non-expert weights, tables, KV cache and activations, %llu bytes for all experts\n",
              static_cast<unsigned long long>(p.experts_on_device), static_cast<unsigned long long>(p.experts),
              static_cast<double>(p.expert_device_bytes) / kMiB, static_cast<double>(p.expert_host_bytes()) / kMiB,
              static_cast<double>(l.budget) / kMiB, l.budget_automatic ? "automatic" : "--gpu-memory",
              static_cast<unsigned long long>(l.fixed + l.margin), static_cast<unsigned long long>(p.expert_bytes));
  if (l.cache_slots) {
    const bool in_step = model.expert_cache() && model.expert_cache()->in_step_copies();
    std::printf("expert cache: %u slots of %llu bytes (%.3f MiB) in device memory, %s, then following the routing%s\n",
                l.cache_slots, static_cast<unsigned long long>(l.cache_slot_bytes), static_cast<double>(l.cache_bytes()) / kMiB,
                in_step ? "first filled with the calibration file's hot experts (if any)"
                        : "first filled with the next experts of the ranking",
                in_step ? " (in-step copies: chosen host experts are copied into free slots inside the step)" : "");
  }
}

// What the decode steps since the last counter reset read from host memory, and the projected
// decode speed with this placement, all experts on the device and none.
Status print_offload_traffic(exec::Model& model, double device_gbps, double bus_gbps, const std::string& save) {
  if (model.memory_layout().experts.experts == 0) return ok_status();
  R1VK_ASSIGN_OR_RETURN(auto counts, model.read_expert_counts());
  const plan::Manifest& m = model.manifest();
  const exec::ExpertTraffic t = exec::expert_traffic(m, model.ranked_experts(), model.memory_layout().experts, counts);
  if (t.tokens == 0) return ok_status();
  const double per_token = static_cast<double>(t.bytes) / static_cast<double>(t.tokens);
  const double host_per_token = static_cast<double>(t.host_bytes) / static_cast<double>(t.tokens);
  std::printf("decode routed %llu tokens (GPU counters): routed experts read %.3f MiB per token, %.3f MiB (%.0f bytes) of it "
              "from host memory; device hit rate %.1f%%%s\n",
              static_cast<unsigned long long>(t.tokens), per_token / kMiB, host_per_token / kMiB, host_per_token,
              100.0 * t.hit_rate(), model.expert_cache() ? " with the resident experts alone (no cache)" : "");
  const uint64_t dense = plan::decode_traffic(m).dense_bytes();
  const auto host = static_cast<uint64_t>(host_per_token);
  const auto routed = static_cast<uint64_t>(per_token);
  // With the expert cache these two lines are what the load's placement alone would have read;
  // the cache's own figures follow.
  const char* placement = model.expert_cache() ? "the resident experts alone" : "this placement";
  std::printf("projected decode (weight reads only) at %.0f GB/s device and %.0f GB/s bus: %.1f tokens/s with %s, "
              "%.1f with every expert on the device, %.1f with none\n",
              device_gbps, bus_gbps, plan::projected_tokens_per_s(dense + routed - host, host, device_gbps, bus_gbps), placement,
              plan::projected_tokens_per_s(dense + routed, 0, device_gbps, bus_gbps),
              plan::projected_tokens_per_s(dense, routed, device_gbps, bus_gbps));
  if (exec::ExpertCache* cache = model.expert_cache()) {
    // The same decode steps as counted above, by where each use found its expert as the cache
    // moved them: the line above is what the load's placement alone would have read.
    R1VK_TRY(cache->flush());
    const exec::ExpertCacheStats c = cache->stats();
    if (c.tokens > 0) {
      const double tokens = static_cast<double>(c.tokens);
      const double cache_host = static_cast<double>(c.host_bytes) / tokens, swapped = static_cast<double>(c.swap_bytes) / tokens;
      const double filled = static_cast<double>(c.fill_bytes) / tokens;
      std::printf("expert cache (%u slots of %.3f MiB): decode %llu tokens, hit rate %.1f%% (%.1f%% of uses from slots, %.1f%% "
                  "from resident experts), %.3f MiB (%.0f bytes) per token from host memory; %.2f swaps per token "
                  "(%.3f MiB per token copied over the bus), %llu of %llu steps ran while a swap copy was in flight\n",
                  cache->slots(), static_cast<double>(cache->slot_bytes()) / kMiB, static_cast<unsigned long long>(c.tokens),
                  100.0 * c.hit_rate(), c.uses ? 100.0 * static_cast<double>(c.slot_uses) / static_cast<double>(c.uses) : 0.0,
                  c.uses ? 100.0 * static_cast<double>(c.resident_uses) / static_cast<double>(c.uses) : 0.0, cache_host / kMiB,
                  cache_host, static_cast<double>(c.swaps) / tokens, swapped / kMiB, static_cast<unsigned long long>(c.overlapped),
                  static_cast<unsigned long long>(c.steps));
      if (cache->in_step_copies()) {
        std::printf("in-step copies: %.2f per token (%.3f MiB per token copied over the bus inside the steps)\n",
                    static_cast<double>(c.fills) / tokens, filled / kMiB);
      }
      // Which queue the swap copies took, and how many steps needed a placement round (the rest
      // went with no submit of the cache's own: their counters came from the step's snapshot).
      std::printf("expert cache sync: %llu placement rounds for %llu steps, %llu swap copies on %s\n",
                  static_cast<unsigned long long>(c.rounds), static_cast<unsigned long long>(c.steps),
                  static_cast<unsigned long long>(c.copy_submits), model.context().transfer_queue_description().c_str());
      // The swap and in-step copies share the bus with the zero-copy reads.
      const auto bus = static_cast<uint64_t>(cache_host + swapped + filled);
      std::printf("projected decode with the expert cache: %.1f tokens/s (host reads, swap and in-step copies all over the "
                  "bus)\n",
                  plan::projected_tokens_per_s(dense + routed - std::min<uint64_t>(routed, static_cast<uint64_t>(cache_host)),
                                               bus, device_gbps, bus_gbps));
    }
  }
  if (!save.empty()) {
    R1VK_TRY(exec::save_expert_counts(save, counts, t.tokens));
    std::printf("wrote expert counts of %llu tokens to %s (load with --calibrate)\n", static_cast<unsigned long long>(t.tokens),
                save.c_str());
  }
  return ok_status();
}

// The row of the per-op table an op is counted in: its kind, except the output head, which is
// a linear op of its own size (vocab x hidden) and worth seeing apart from the layers' linears.
std::string op_group(const plan::Op& op) {
  if (op.label == "lm_head") return "lm_head";
  return plan::op_kind_name(op.kind);
}

// Every op of one step of `program` in program order: label, kind, ms, share of the step (--each-op).
void print_each_op(const plan::Program& program, const std::vector<double>& times) {
  double total = 0;
  for (size_t i = 0; i < times.size() && i < program.ops.size(); ++i) total += times[i];
  for (size_t i = 0; i < times.size() && i < program.ops.size(); ++i) {
    const plan::Op& op = program.ops[i];
    std::printf("    %4zu %-32s %-14s %9.3f ms %5.1f%%\n", i, op.label.c_str(), plan::op_kind_name(op.kind),
                times[i] / 1e6, total > 0 ? 100.0 * times[i] / total : 0.0);
  }
}

// Time per op kind of one step of `program` (timestamp queries), largest first; `limit` kinds (0: all).
void print_program_op_times(const plan::Program& program, const std::vector<double>& times, size_t limit) {
  std::map<std::string, std::pair<double, int>> by_kind;
  double total = 0;
  for (size_t i = 0; i < times.size() && i < program.ops.size(); ++i) {
    auto& e = by_kind[op_group(program.ops[i])];
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

void print_op_times(const plan::Manifest& m, const std::vector<double>& times, size_t limit) {
  print_program_op_times(m.main, times, limit);
}

// Where a plain decode step and a step that verifies an MTP draft spend their time: one executor
// without and one with drafts (profiled, so every op writes a timestamp), the prompt fed, then
// decode steps; the last one's timestamps, which with MTP is a verify step (2 rows) followed by
// the MTP program on both rows. The profiled steps are slower than unprofiled ones (a timestamp
// after each op); the split between ops is what this shows.
Status profile_mtp(exec::Model& model, const std::vector<int32_t>& prompt, uint32_t drafts) {
  const plan::Manifest& m = model.manifest();
  for (uint32_t draft = 0; draft < 2; ++draft) {
    exec::BatchOptions bo;
    bo.profile = true;
    bo.draft_tokens = draft ? drafts : 0;
    R1VK_ASSIGN_OR_RETURN(auto ex, exec::BatchExecutor::create(model, bo));
    R1VK_ASSIGN_OR_RETURN(exec::SeqId seq, ex->add_sequence());
    exec::BatchExecutor::Entry e;
    e.seq = seq;
    e.tokens = prompt;
    R1VK_TRY(ex->step({&e, 1}));
    e.tokens = {};
    e.speculate = draft > 0;
    for (int i = 0; i < 4; ++i) R1VK_TRY(ex->step({&e, 1}));
    R1VK_ASSIGN_OR_RETURN(auto times, ex->op_times_ns());
    if (draft) {
      std::printf("    MTP verify step (%u rows), main program by op: ", 1 + drafts);
    } else {
      std::printf("    plain decode step by op: ");
    }
    print_op_times(m, times, 0);
    if (draft) {
      R1VK_ASSIGN_OR_RETURN(auto mtp_times, ex->mtp_op_times_ns());
      if (drafts > 1) {
        std::printf("    then the first MTP pass on those rows (%u more passes of one row follow): ", drafts - 1);
      } else {
        std::printf("    then the MTP program on both rows: ");
      }
      print_program_op_times(m.mtp, mtp_times, 0);
    }
  }
  return ok_status();
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

// Behind a pipeline (--devices/--pipeline): per batch size (default 1), decode steps of that many
// sequences, without micro-batches and then with the pipeline's (for batches of several): step
// time, aggregate tokens/s, each stage's time per step and busy fraction, and the hidden bytes
// sent between stages per token.
Status run_pipeline_bench(const BenchArgs& a, const std::vector<int>& batch) {
  const int max_b = *std::max_element(batch.begin(), batch.end());
  PlanSourceOptions po;
  po.weights = a.weights;
  // Warm-up and timed steps, without and with micro-batches.
  po.context = cached_context_for(kBatchPosition + 2 * (a.decode + 1) + 2);
  exec::BatchOptions bo;
  bo.max_batch = static_cast<uint32_t>(max_b);
  R1VK_ASSIGN_OR_RETURN(PipelineModel pm, open_pipeline(a.pipeline, [&] { return open_model(a.model, po); }, bo, a.device));
  if (pm.worker) return pm.worker_status;  // an MPI rank > 0: served its stage
  exec::Pipeline& p = *pm.pipeline;
  const uint32_t configured = p.micro_batches();
  std::printf("pipeline: %zu stages; batched decode from position %lld, median of %lld steps per row\n", p.stages(),
              static_cast<long long>(kBatchPosition), static_cast<long long>(a.decode));
  std::printf("batch  micro-batches  step ms  aggregate tok/s  per-stage ms per step and busy fraction; hidden bytes per token\n");
  for (int b : batch) {
    std::vector<exec::SeqId> seqs;
    for (int i = 0; i < b; ++i) {
      R1VK_ASSIGN_OR_RETURN(auto s, p.add_sequence({}));
      R1VK_TRY(p.seek_for_benchmark(s, kBatchPosition));
      seqs.push_back(s);
    }
    std::vector<exec::StepEntry> decode(seqs.size());
    for (size_t i = 0; i < seqs.size(); ++i) decode[i].seq = seqs[i];
    std::vector<uint32_t> modes = {1};  // without micro-batches, then with them
    if (configured > 1 && b > 1) modes.push_back(configured);
    for (uint32_t m : modes) {
      p.set_micro_batches(m);
      R1VK_TRY(p.step(decode, nullptr));  // warm-up (first use of this row bucket)
      const auto s0 = p.stage_seconds();
      const double w0 = p.step_seconds();
      const uint64_t n0 = p.steps(), r0 = p.rows_stepped(), h0 = p.hidden_bytes_sent();
      std::vector<double> step_s;
      for (int64_t i = 0; i < a.decode; ++i) {
        const auto t0 = std::chrono::steady_clock::now();
        R1VK_TRY(p.step(decode, nullptr));
        step_s.push_back(seconds_since(t0));
      }
      std::sort(step_s.begin(), step_s.end());
      const double dt = step_s[step_s.size() / 2];
      auto s1 = p.stage_seconds();
      for (size_t k = 0; k < s1.size(); ++k) s1[k] -= k < s0.size() ? s0[k] : 0.0;
      const double tokens = static_cast<double>(std::max<uint64_t>(p.rows_stepped() - r0, 1));
      std::printf("%5d %14u %8.2f %16.2f  %s; %.0f\n", b, m, 1e3 * dt, static_cast<double>(b) / dt,
                  format_stage_stats(s1, p.step_seconds() - w0, p.steps() - n0).c_str(),
                  static_cast<double>(p.hidden_bytes_sent() - h0) / tokens);
    }
    for (auto s : seqs) R1VK_TRY(p.free_sequence(s));
  }
  p.set_micro_batches(configured);
  for (const auto& ctx : pm.contexts) {
    if (ctx->validation_errors() != 0) {
      return make_error(ErrorCode::kInternal, std::to_string(ctx->validation_errors()) + " Vulkan validation error(s)");
    }
  }
  return ok_status();
}

Status run_bench(const BenchArgs& a) {
  if (a.prompt <= 0 || a.decode <= 0 || a.long_context < 0) {
    return make_error(ErrorCode::kInvalidArgument, "--prompt and --decode must be positive, --long-context >= 0");
  }
  R1VK_TRY(check_batch_sizes(a.batch));
  if (a.pipeline.active()) {
    R1VK_TRY(a.offload.refuse_for_pipeline(true));
    return run_pipeline_bench(a, a.batch.empty() ? std::vector<int>{1} : a.batch);
  }
  vk::ContextOptions co;
  exec::ModelOptions mo;
  R1VK_TRY(a.offload.apply(co, mo));  // a bad --gpu-memory costs no compile
  PlanSourceOptions po;
  po.weights = a.weights;
  // --batch: decoders start at position 64 and keep decoding while the prompt prefills.
  const int64_t ctx_needed = a.batch.empty() ? std::max({a.prompt + a.mtp_decode, a.long_context, a.prompt}) + a.decode + 2
                                             : kBatchPosition + a.decode + a.prompt + 2;
  po.context = cached_context_for(ctx_needed);  // checked against the plan below
  R1VK_ASSIGN_OR_RETURN(plan::LoadedPlan plan, open_model(a.model, po));
  if (plan.manifest().memory.max_context < ctx_needed) {
    return make_error(ErrorCode::kInvalidArgument, "the plan holds " + std::to_string(plan.manifest().memory.max_context) +
                                                       " positions; this benchmark needs " + std::to_string(ctx_needed) +
                                                       " (lower --long-context or --prompt, or recompile with a larger --ctx)");
  }
  // A checkpoint's cached plan has the default context (cached_context_for): size the sessions'
  // KV cache for what this benchmark needs, as a plan compiled for it would have been. A plan
  // file keeps its own context.
  std::error_code ec;
  if (po.context == 0 && (std::filesystem::is_directory(a.model, ec) || is_gguf_file(a.model))) mo.context = ctx_needed;
  if (!a.batch.empty()) {
    exec::BatchOptions bo;
    bo.max_batch = static_cast<uint32_t>(*std::max_element(a.batch.begin(), a.batch.end()));
    mo.reserve = [bo](const exec::Model& model) { return exec::executor_device_bytes(model, bo); };
  } else {
    // Under --gpu-memory the experts fill what the reserve leaves: keep room for every executor
    // alive at once. The measured session lives throughout; the MTP comparison adds three
    // (without drafts, with them, with automatic off), more than its profile's one at a time.
    const bool mtp_phase = a.mtp_decode > 0;
    const uint32_t drafts = a.mtp_draft;
    mo.reserve = [mtp_phase, drafts](const exec::Model& model) {
      exec::BatchOptions measured;
      measured.profile = true;
      uint64_t bytes = exec::executor_device_bytes(model, measured);
      if (mtp_phase && !model.manifest().mtp.ops.empty()) {
        exec::BatchOptions speculative;
        speculative.draft_tokens = drafts;
        bytes += exec::executor_device_bytes(model, exec::BatchOptions{}) + 2 * exec::executor_device_bytes(model, speculative);
      }
      return bytes;
    };
  }
  const std::string cpu_threads = choose_cpu_driver_threads(plan.manifest());  // as run/chat/serve choose
  R1VK_ASSIGN_OR_RETURN(auto ctx, open_device(a.device, co.allocator.budget_bytes));
  std::printf("device: %s\n", ctx->caps().name.c_str());
  if (ctx->caps().type == VK_PHYSICAL_DEVICE_TYPE_CPU) std::printf("cpu driver threads: %s\n", cpu_threads.c_str());
  ProgressBar bar("loading", 0);
  mo.progress = [&bar](uint64_t done, uint64_t total) { bar.update(done, total); };
  auto loaded = exec::Model::load(*ctx, std::move(plan), mo);
  bar.finish();
  if (!loaded.ok()) return std::move(loaded).error();
  exec::Model& model = **loaded;
  const plan::Manifest& m = model.manifest();
  std::printf("model: %s, %s weights, %.1f MiB on the device, %.1f MiB in host memory, prefill chunk %lld\n",
              m.model_name.c_str(), m.weights_requested.c_str(), static_cast<double>(model.weights().device_bytes()) / kMiB,
              static_cast<double>(model.weights().host_bytes()) / kMiB, static_cast<long long>(m.memory.prefill_chunk));
  print_placement(model);

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
    if (a.each_op) print_each_op(m.main, chunk_times);
  }

  R1VK_TRY(model.reset_expert_counts());  // count decode's routing only
  R1VK_ASSIGN_OR_RETURN(double tps0, time_decode(*session, 0, a.decode));
  const uint32_t before = session->submits();
  R1VK_TRY(decode_step(*session));
  std::printf("decode at context 0: %.2f tokens/s, %u queue submit(s) per step\n", tps0, session->submits() - before);
  print_roofline(plan::decode_traffic(m), tps0, a.bandwidth_gbps);
  R1VK_TRY(print_offload_traffic(model, a.bandwidth_gbps > 0 ? a.bandwidth_gbps : kProjectionDeviceGbps, a.bus_gbps,
                                 a.save_expert_counts));
  if (a.long_context > 0) {
    R1VK_ASSIGN_OR_RETURN(double tps_long, time_decode(*session, a.long_context, a.decode));
    std::printf("decode at context %lld: %.2f tokens/s\n", static_cast<long long>(a.long_context), tps_long);
  }
  R1VK_ASSIGN_OR_RETURN(auto times, session->op_times_ns());

  // Per op kind, from the last decode step (at the long context when one was timed).
  std::printf("decode step by op (timestamp queries, last step): ");
  print_op_times(m, times, 0);
  if (a.each_op) print_each_op(m.main, times);
  if (a.mtp_decode > 0) {
    const MtpPrompts mp = mtp_prompts(m, a.mtp_questions, prompt);
    R1VK_TRY(bench_mtp(model, mp, a.mtp_decode, a.mtp_min_acceptance, a.mtp_draft));
    if (!m.mtp.ops.empty()) R1VK_TRY(profile_mtp(model, mp.prompts.front(), a.mtp_draft));
  }
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
  add_pipeline_options(*sub, a->pipeline);
  sub->add_option("--bandwidth", a->bandwidth_gbps,
                  "Memory bandwidth in GB/s (e.g. bench-kernels' copy figure): also print decode as a % of its roofline")
      ->check(CLI::PositiveNumber);
  sub->add_option("--batch", a->batch,
                  "Batch sizes (e.g. 1,4,16): instead of the single-sequence report, time batched decode steps "
                  "(step time, aggregate and per-sequence tokens/s) and a prompt's chunked prefill next to the "
                  "other sequences' decode. Behind --devices/--pipeline (default 1): decode steps only, with each "
                  "stage's ms per step and busy fraction and the hidden bytes sent per token, without and with "
                  "micro-batches")
      ->delimiter(',');
  add_offload_options(*sub, a->offload);
  sub->add_option("--bus-bandwidth", a->bus_gbps,
                  "Host-to-device bus bandwidth in GB/s for the projection of decode with experts in host memory "
                  "(PCIe 4.0 x16: about 25); the device side uses --bandwidth, else 1000 (a 24 GB RTX 4090-class card)")
      ->check(CLI::PositiveNumber)
      ->capture_default_str();
  sub->add_option("--save-expert-counts", a->save_expert_counts,
                  "Write the routed experts' use counts of the decode measurement to FILE (rank and seed the expert cache with --calibrate)");
  sub->add_option("--mtp-decode", a->mtp_decode,
                  "Greedy tokens decoded after the prompt without MTP, with MTP verifying every draft and with MTP's "
                  "automatic off (speculative decoding: tokens/s, draft acceptance, the cost of a rejected draft and the "
                  "break-even acceptance) when the plan has an MTP program; 0: skip")
      ->capture_default_str()
      ->check(CLI::NonNegativeNumber);
  sub->add_option("--mtp-min-acceptance", a->mtp_min_acceptance,
                  "Threshold of the --mtp-decode run with automatic off (run/chat's --mtp-min-acceptance)")
      ->capture_default_str()
      ->check(unit_interval());
  sub->add_flag("--each-op", a->each_op,
               "Also list every op of the profiled prefill chunk and decode step (label, kind, ms, share), not only "
               "the sums per kind");
  sub->add_option("--draft", a->mtp_draft,
                  "MTP drafts per step of the --mtp-decode runs with MTP (run/chat's --draft); with more than 1 it also "
                  "prints the acceptance at each draft position")
      ->capture_default_str()
      ->check(CLI::Range(1, 8));
  sub->add_option("--mtp-prompt", a->mtp_questions,
                  "User messages the MTP measurement decodes after, in the chat template, when the plan has a "
                  "tokenizer (repeat for several; default: four of the demo model's arithmetic questions); without "
                  "a tokenizer it decodes after the random benchmark prompt");
  sub->callback([a, &selected] { selected = [a] { return run_bench(*a); }; });
}

}  // namespace r1vk::cli
