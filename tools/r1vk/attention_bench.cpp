#include "attention_bench.h"

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <vector>

#include <sys/resource.h>

#include "base/numeric_formats.h"
#include "kernel_bench.h"
#include "kernels/attention_kernels.h"
#include "kernels/pipeline_set.h"
#include "vulkan/context.h"
#include "vulkan/kernels.h"
#include "vulkan/query_pool.h"
#include "vulkan/transfer.h"

namespace r1vk::cli {
namespace {

constexpr uint32_t kLatent = 512, kRope = 64, kQHead = 192, kQRopeOffset = 128;
constexpr double kScale = 0.1352338;  // R1's softmax scale (MODEL_SPEC.md §2)

float uniform_pm1(uint64_t& s) {
  s = s * 6364136223846793005ull + 1442695040888963407ull;
  return static_cast<float>(static_cast<uint32_t>(s >> 33)) / 2147483648.0f - 1.0f;
}

double cpu_ms() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_utime.tv_sec * 1e3 + u.ru_utime.tv_usec / 1e3 + u.ru_stime.tv_sec * 1e3 + u.ru_stime.tv_usec / 1e3;
}

// Reference for one head (program_interpreter's kMlaAttention); returns the max abs error.
double head_error(const std::vector<float>& cache, uint32_t n_keys, const float* ql, const float* qp, const float* got) {
  std::vector<double> s(n_keys);
  double mx = -1e300;
  for (uint32_t j = 0; j < n_keys; ++j) {
    const float* row = cache.data() + size_t{j} * (kLatent + kRope);
    double d = 0;
    for (uint32_t i = 0; i < kLatent; ++i) d += double(ql[i]) * row[i];
    for (uint32_t i = 0; i < kRope; ++i) d += double(qp[i]) * row[kLatent + i];
    s[j] = d * kScale;
    mx = std::max(mx, s[j]);
  }
  double z = 0;
  for (double& v : s) z += (v = std::exp(v - mx));
  double err = 0;
  for (uint32_t i = 0; i < kLatent; ++i) {
    double o = 0;
    for (uint32_t j = 0; j < n_keys; ++j) o += s[j] / z * cache[size_t{j} * (kLatent + kRope) + i];
    err = std::max(err, std::abs(o - got[i]));
  }
  return err;
}

}  // namespace

Status run_mla_bench(const MlaBenchOptions& in) {
  MlaBenchOptions o = in;
  if (o.quick) {
    o.context = std::min<uint32_t>(o.context, 512);
    o.iters = std::min(o.iters, 3);
  }
  if (o.context == 0 || o.heads == 0 || o.iters <= 0 || o.tokens == 0)
    return make_error(ErrorCode::kInvalidArgument, "--context, --heads, --tokens and --iters must be positive");
  if (o.tokens > o.context) return make_error(ErrorCode::kInvalidArgument, "--tokens must not exceed --context");
  vk::ContextOptions options;
  options.device_index = o.device;
  R1VK_ASSIGN_OR_RETURN(auto ctx, vk::Context::create(options));
  std::printf("device [%zu] %s\n", ctx->device_index(), ctx->caps().name.c_str());
  const uint32_t width = kLatent + kRope, H = o.heads, T = o.tokens;
  const uint64_t cache_bytes = uint64_t{o.context} * width * 2;

  vk::Kernels foundation(*ctx);
  R1VK_ASSIGN_OR_RETURN(TimingStats copy, bench_copy(*ctx, foundation, std::max<uint64_t>(cache_bytes, 64 << 20), o.iters));
  const uint64_t copy_bytes = std::max<uint64_t>(cache_bytes, 64 << 20) / 16 * 16;
  const double copy_gbps = 2.0 * static_cast<double>(copy_bytes) / (copy.median_ms * 1e6);
  std::printf("copy kernel   %8.1f MiB: %8.3f ms/call, %7.2f GB/s (read + write)\n",
              static_cast<double>(copy_bytes) / (1 << 20), copy.median_ms, copy_gbps);

  uint64_t seed = 7;
  std::vector<uint16_t> cache_bits(size_t{o.context} * width);
  std::vector<float> cache(cache_bits.size());
  for (size_t i = 0; i < cache.size(); ++i) {
    cache_bits[i] = f32_to_f16(uniform_pm1(seed));
    cache[i] = f16_to_f32(cache_bits[i]);
  }
  std::vector<float> ql(size_t{T} * H * kLatent), q(size_t{T} * H * kQHead);
  for (auto& v : ql) v = uniform_pm1(seed);
  for (auto& v : q) v = uniform_pm1(seed);
  const std::vector<uint32_t> step_words = kernels::encode_step(kernels::StepParams{T, o.context - T});
  const uint64_t scratch_bytes = std::max<uint64_t>(16, kernels::AttentionKernels::mla_scratch_bytes(T, H, kLatent, o.context));
  auto buffer = [&](uint64_t bytes, const char* name) { return ctx->create_buffer(bytes, vk::MemoryUsage::kDeviceLocal, name); };
  R1VK_ASSIGN_OR_RETURN(auto b_cache, buffer(cache_bits.size() * 2, "mla_cache"));
  R1VK_ASSIGN_OR_RETURN(auto b_ql, buffer(ql.size() * 4, "q_latent"));
  R1VK_ASSIGN_OR_RETURN(auto b_q, buffer(q.size() * 4, "q"));
  R1VK_ASSIGN_OR_RETURN(auto b_out, buffer(ql.size() * 4, "out"));
  R1VK_ASSIGN_OR_RETURN(auto b_scratch, buffer(scratch_bytes, "scratch"));
  R1VK_ASSIGN_OR_RETURN(auto b_step, buffer(step_words.size() * 4, "step"));
  R1VK_TRY(vk::upload_span(*ctx, b_cache, std::span<const uint16_t>(cache_bits)));
  R1VK_TRY(vk::upload_span(*ctx, b_ql, std::span<const float>(ql)));
  R1VK_TRY(vk::upload_span(*ctx, b_q, std::span<const float>(q)));
  R1VK_TRY(vk::upload_span(*ctx, b_step, std::span<const uint32_t>(step_words)));

  kernels::PipelineSet set(*ctx);
  kernels::AttentionKernels attention(set);
  kernels::MlaAttentionArgs a;
  a.q_latent = {b_ql.address(), H * kLatent, H * kLatent};
  a.q = {b_q.address(), H * kQHead, H * kQHead};  // row strides: rows follow each other
  a.heads = H;
  a.kv_lora_rank = kLatent;
  a.rope_dim = kRope;
  a.q_head_stride = kQHead;
  a.q_rope_offset = kQRopeOffset;
  a.scale = static_cast<float>(kScale);
  a.cache = {b_cache.address(), width, o.context};
  a.out = {b_out.address(), H * kLatent, H * kLatent};
  a.scratch = b_scratch.address();
  const kernels::StepView step{b_step.address(), T};

  const int calls = o.iters + 1;  // the first is a warm-up
  R1VK_ASSIGN_OR_RETURN(auto pool, vk::TimestampQueryPool::create(ctx->device(), static_cast<uint32_t>(2 * calls)));
  R1VK_ASSIGN_OR_RETURN(auto cmd, ctx->create_command_buffer());
  R1VK_TRY(cmd.begin());
  cmd.reset_queries(pool);
  for (int i = 0; i < calls; ++i) {
    cmd.compute_barrier();
    cmd.write_timestamp(pool, static_cast<uint32_t>(2 * i));
    R1VK_TRY(attention.record_mla_attention(cmd, a, step));
    cmd.write_timestamp(pool, static_cast<uint32_t>(2 * i + 1));
  }
  R1VK_TRY(cmd.end());
  const double cpu0 = cpu_ms();
  R1VK_TRY(ctx->submit_and_wait(cmd));
  const double cpu_per_call = (cpu_ms() - cpu0) / calls;
  R1VK_ASSIGN_OR_RETURN(auto ns, pool.read_ns());
  std::vector<double> ms;
  for (int i = 1; i < calls; ++i) ms.push_back((ns[2 * i + 1] - ns[2 * i]) / 1e6);
  std::sort(ms.begin(), ms.end());
  const double median = ms[ms.size() / 2];

  std::vector<float> out(ql.size());
  R1VK_TRY(vk::download_span(*ctx, b_out, std::span<float>(out)));
  double err = 0;
  for (uint32_t t : {0u, T / 2, T - 1})
    for (uint32_t h : {0u, H / 2, H - 1}) {
      const size_t r = size_t{t} * H + h;
      err = std::max(err, head_error(cache, o.context - T + t + 1, &ql[r * kLatent], &q[r * kQHead + kQRopeOffset],
                                     &out[r * kLatent]));
    }
  const uint32_t split = kernels::AttentionKernels::mla_split_len(T, kLatent);
  const double gbps = static_cast<double>(cache_bytes) / (median * 1e6);
  // Query-key pairs: every row attends to the keys up to its own position (causal).
  const double pairs = static_cast<double>(T) * (o.context - T) + 0.5 * static_cast<double>(T) * (T + 1);
  const double gflops = 2.0 * H * pairs * (width + kLatent) / (median * 1e6);
  std::printf("mla attention: %u rows, %u heads, latent %u + rope %u, context %u (%u splits of %u keys)\n", T, H, kLatent,
              kRope, o.context, (o.context + split - 1) / split, split);
  std::printf("  %8.3f ms/call (min %.3f, cpu %.1f ms), cache %.1f MiB read at %.2f GB/s = %.1f%% of copy, "
              "%.1f GFLOP/s, max abs error %.2g\n",
              median, ms.front(), cpu_per_call, static_cast<double>(cache_bytes) / (1 << 20), gbps,
              100.0 * gbps / copy_gbps, gflops, err);
  if (!(err < 1e-4)) return make_error(ErrorCode::kInternal, "mla attention differs from the CPU reference");
  if (ctx->validation_errors() != 0)
    return make_error(ErrorCode::kInternal, std::to_string(ctx->validation_errors()) + " Vulkan validation error(s)");
  return ctx->save_pipeline_cache();
}

Status run_sample_bench(std::optional<int> device, uint32_t vocab, int iters) {
  if (vocab == 0 || iters <= 0) return make_error(ErrorCode::kInvalidArgument, "--vocab and --iters must be positive");
  vk::ContextOptions options;
  options.device_index = device;
  R1VK_ASSIGN_OR_RETURN(auto ctx, vk::Context::create(options));
  std::printf("device [%zu] %s\n", ctx->device_index(), ctx->caps().name.c_str());
  uint64_t seed = 11;
  std::vector<float> logits(vocab);
  for (auto& v : logits) v = 6.0f * uniform_pm1(seed);
  struct Mode { const char* name; float temperature, top_p; uint32_t top_k; };
  const Mode modes[] = {{"greedy", 0.0f, 1.0f, 0}, {"T 0.8, top-k 40, top-p 0.9", 0.8f, 0.9f, 40}, {"T 0.8, top-p 0.9", 0.8f, 0.9f, 0}};
  // Encoded steps at a 256-byte stride (StepParams needs 16-byte alignment).
  constexpr uint32_t kStepWords = 64;
  std::vector<uint32_t> step_words;
  uint32_t n_steps = 0;
  for (const Mode& m : modes)
    for (int i = 0; i <= iters; ++i) {
      kernels::StepParams p;
      p.temperature = m.temperature;
      p.top_p = m.top_p;
      p.top_k = m.top_k;
      p.rng_counter = static_cast<uint32_t>(i);
      std::vector<uint32_t> w = kernels::encode_step(p);
      w.resize(kStepWords, 0);
      step_words.insert(step_words.end(), w.begin(), w.end());
      ++n_steps;
    }
  auto buffer = [&](uint64_t bytes, const char* name) { return ctx->create_buffer(bytes, vk::MemoryUsage::kDeviceLocal, name); };
  R1VK_ASSIGN_OR_RETURN(auto b_logits, buffer(logits.size() * 4, "logits"));
  R1VK_ASSIGN_OR_RETURN(auto b_steps, buffer(step_words.size() * 4, "steps"));
  R1VK_ASSIGN_OR_RETURN(auto b_tokens, buffer(uint64_t{n_steps} * 4, "tokens"));
  R1VK_ASSIGN_OR_RETURN(auto b_scratch, buffer(kernels::AttentionKernels::sample_scratch_bytes(vocab), "sample_scratch"));
  R1VK_TRY(vk::upload_span(*ctx, b_logits, std::span<const float>(logits)));
  R1VK_TRY(vk::upload_span(*ctx, b_steps, std::span<const uint32_t>(step_words)));
  kernels::PipelineSet set(*ctx);
  kernels::AttentionKernels k(set);
  k.set_sample_scratch(b_scratch.address());
  const uint32_t n = n_steps;
  R1VK_ASSIGN_OR_RETURN(auto pool, vk::TimestampQueryPool::create(ctx->device(), 2 * n));
  R1VK_ASSIGN_OR_RETURN(auto cmd, ctx->create_command_buffer());
  R1VK_TRY(cmd.begin());
  cmd.reset_queries(pool);
  for (uint32_t i = 0; i < n; ++i) {
    cmd.compute_barrier();
    cmd.write_timestamp(pool, 2 * i);
    R1VK_TRY(k.record_sample(cmd, {b_logits.address(), vocab, vocab}, b_tokens.address() + 4ull * i, 0,
                             {b_steps.address() + 4ull * kStepWords * i, 1}));
    cmd.write_timestamp(pool, 2 * i + 1);
  }
  R1VK_TRY(cmd.end());
  R1VK_TRY(ctx->submit_and_wait(cmd));
  R1VK_ASSIGN_OR_RETURN(auto ns, pool.read_ns());
  std::vector<uint32_t> tokens(n);
  R1VK_TRY(vk::download_span(*ctx, b_tokens, std::span<uint32_t>(tokens)));
  const uint32_t argmax = static_cast<uint32_t>(std::max_element(logits.begin(), logits.end()) - logits.begin());
  for (size_t m = 0; m < std::size(modes); ++m) {
    std::vector<double> ms;
    for (int i = 1; i <= iters; ++i) {
      const size_t c = m * (iters + 1) + static_cast<size_t>(i);
      ms.push_back((ns[2 * c + 1] - ns[2 * c]) / 1e6);
    }
    std::sort(ms.begin(), ms.end());
    std::printf("sample vocab %u, %-28s %8.3f ms/token (min %.3f)\n", vocab, modes[m].name, ms[ms.size() / 2], ms.front());
  }
  if (tokens[1] != argmax) return make_error(ErrorCode::kInternal, "greedy sampling did not return the argmax");
  if (ctx->validation_errors() != 0)
    return make_error(ErrorCode::kInternal, std::to_string(ctx->validation_errors()) + " Vulkan validation error(s)");
  return ok_status();
}

}  // namespace r1vk::cli
