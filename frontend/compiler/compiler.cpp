#include "compiler/compiler.h"

#include <chrono>

#include "compiler/prefill_chunk.h"
#include "graph/graph_builder.h"
#include "graph/memory_planner.h"
#include "plan/plan_writer.h"

namespace r1vk {

Result<FormatChoice> resolve_format_choice(const std::string& weights, int64_t q4_group) {
  FormatChoice choice;
  choice.q4_group = q4_group;
  if (q4_group != 32 && q4_group != 128) {
    return make_error(ErrorCode::kInvalidArgument, "--q4-group must be 32 or 128, got " + std::to_string(q4_group));
  }
  if (weights == "auto") {
    choice.bulk = WeightFormat::kQ8;
    return choice;
  }
  R1VK_ASSIGN_OR_RETURN(choice.bulk, parse_weight_format(weights));
  return choice;
}

namespace {

// FP8 checkpoint weights go into fp8 plans unchanged when their 128x128 blocks survive the
// transform: a plain tensor, or row concatenation whose parts (all but the last) end on a block
// boundary. Anything else (MLA absorption transposes heads) is requantised.
Result<std::optional<PackedWeight>> keep_fp8(const WeightSpec& spec, const Fp8Fn& read_fp8) {
  const std::optional<PackedWeight> requantise;
  if (spec.transform != WeightTransform::kNone && spec.transform != WeightTransform::kConcatRows) return requantise;
  std::vector<uint8_t> q;
  std::vector<float> scales;
  for (size_t i = 0; i < spec.sources.size(); ++i) {
    const int64_t rows = spec.transform == WeightTransform::kNone ? spec.rows : spec.source_rows[i];
    if (i + 1 < spec.sources.size() && rows % kFp8Block != 0) return requantise;
    R1VK_ASSIGN_OR_RETURN(auto raw, read_fp8(spec.sources[i]));
    if (!raw) return requantise;
    q.insert(q.end(), raw->q.begin(), raw->q.end());
    scales.insert(scales.end(), raw->scale_inv.begin(), raw->scale_inv.end());
  }
  R1VK_ASSIGN_OR_RETURN(PackedWeight p, pack_fp8_checkpoint(q, scales, spec.rows, spec.cols));
  return std::optional<PackedWeight>(std::move(p));
}

// --weights auto keeps weights stored in a block format (GGUF Q8_0 / Q4_K / Q6_K) as they are,
// so the plan has the file's size and numerics (docs/gguf.md): a plain tensor, or row
// concatenation (an expert's gate|up, fused projections) of parts stored in the same format.
// Anything else (MLA absorption transposes heads; mixed formats) is dequantised and packed.
Result<std::optional<PackedWeight>> keep_blocks(const WeightSpec& spec, const BlockFn& read_blocks) {
  const std::optional<PackedWeight> convert;
  if (spec.transform != WeightTransform::kNone && spec.transform != WeightTransform::kConcatRows) return convert;
  std::vector<uint8_t> bytes;
  std::optional<WeightFormat> format;
  for (const std::string& source : spec.sources) {
    R1VK_ASSIGN_OR_RETURN(auto raw, read_blocks(source));
    if (!raw || (format && *format != raw->format)) return convert;
    format = raw->format;
    bytes.insert(bytes.end(), raw->bytes.begin(), raw->bytes.end());
  }
  if (!format) return convert;
  R1VK_ASSIGN_OR_RETURN(PackedWeight p, pack_ggml_blocks(*format, bytes, spec.rows, spec.cols));
  return std::optional<PackedWeight>(std::move(p));
}

// Lower is more precise (the conversion targets of --weights auto).
int precision_rank(WeightFormat f) {
  switch (f) {
    case WeightFormat::kF32: return 0;
    case WeightFormat::kF16: return 1;
    case WeightFormat::kQ8: return 2;
    case WeightFormat::kFp8: return 3;
    default: return 4;
  }
}

bool keeps_f32(WeightRole role) {
  return role == WeightRole::kNorm || role == WeightRole::kBias || role == WeightRole::kRouter ||
         role == WeightRole::kRouterBias;
}

}  // namespace

Result<plan::Manifest> compile_plan(const CompileInput& in, const CompileOptions& opt, const std::string& out_path,
                                    CompileReport* report) {
  const auto start = std::chrono::steady_clock::now();
  R1VK_ASSIGN_OR_RETURN(FormatChoice choice, resolve_format_choice(opt.weights, opt.q4_group));
  // --ctx 0: the default context, capped by the model's positions.
  const int64_t max_context =
      opt.max_context != 0 ? opt.max_context
                           : (in.config.max_position_embeddings > 0 ? std::min(kDefaultContext, in.config.max_position_embeddings)
                                                                    : kDefaultContext);
  if (max_context <= 0 || max_context > (int64_t{1} << 24)) {
    return make_error(ErrorCode::kInvalidArgument, "--ctx must be between 1 and 16777216, got " + std::to_string(max_context));
  }
  if (in.config.max_position_embeddings > 0 && max_context > in.config.max_position_embeddings) {
    return make_error(ErrorCode::kInvalidArgument, "--ctx " + std::to_string(max_context) + " exceeds the model's " +
                                                       std::to_string(in.config.max_position_embeddings) + " positions");
  }
  R1VK_ASSIGN_OR_RETURN(ModelGraph graph, build_model_graph(in.config));

  plan::Manifest m;
  m.model_name = in.model_name;
  m.config_json = in.config_json;
  m.tokenizer_json = in.tokenizer_json;
  m.tokenizer_config_json = in.tokenizer_config_json;
  m.weights_requested = opt.weights;
  m.rope_freqs = graph.rope_freqs;
  m.rope_magnitude = graph.rope_magnitude;
  m.memory.max_context = max_context;
  if (opt.prefill_chunk < 0) {
    return make_error(ErrorCode::kInvalidArgument, "--prefill-chunk must be positive (0: chosen from the model), got " +
                                                       std::to_string(opt.prefill_chunk));
  }
  m.memory.kv_layers = graph.kv_layers;
  m.memory.kv_width = graph.kv_width;
  m.main = std::move(graph.main);
  m.mtp = std::move(graph.mtp);

  uint64_t total = 0;
  for (const WeightSpec& s : graph.weights) total += static_cast<uint64_t>(s.rows * s.cols) * 4;
  R1VK_ASSIGN_OR_RETURN(plan::PlanWriter writer, plan::PlanWriter::create(out_path));
  uint64_t done = 0;
  for (const WeightSpec& spec : graph.weights) {
    if (opt.weights == "auto" && in.read_blocks && !keeps_f32(spec.role)) {
      auto raw = keep_blocks(spec, in.read_blocks);
      if (!raw.ok()) return std::move(raw).error().with_context(spec.name);
      if (*raw) {
        plan::TensorEntry e;
        e.name = spec.name;
        e.format = (*raw)->format;
        e.rows = spec.rows;
        e.cols = spec.cols;
        e.group = (*raw)->group;
        e.quant_nmse = 0.0;  // the stored values themselves
        R1VK_ASSIGN_OR_RETURN(e.data, writer.add_blob((*raw)->data));
        R1VK_ASSIGN_OR_RETURN(e.scales, writer.add_blob({}));
        m.memory.weight_bytes += e.data.size + e.scales.size;
        m.tensors.push_back(std::move(e));
        done += static_cast<uint64_t>(spec.rows * spec.cols) * 4;
        if (opt.progress) opt.progress(done, total);
        continue;
      }
    }
    auto w = gather_weight(spec, in.read);
    if (!w.ok()) return std::move(w).error().with_context(spec.name);
    WeightFormat format = format_for(spec.role, choice);
    if (opt.weights == "auto" && in.source_format && spec.role == WeightRole::kLinear && !spec.sources.empty()) {
      // Parts stored differently (a Q4_K_M file's fused qkv: Q4_K q and k, Q6_K v) get the most
      // precise of their formats, so no part is rounded coarser than it was stored.
      std::optional<WeightFormat> chosen;
      for (const std::string& source : spec.sources) {
        const std::optional<WeightFormat> f = in.source_format(source);
        if (f && (!chosen || precision_rank(*f) < precision_rank(*chosen))) chosen = f;
      }
      if (chosen) format = *chosen;
    }
    std::optional<PackedWeight> kept;
    if (format == WeightFormat::kFp8 && in.read_fp8) {
      auto raw = keep_fp8(spec, in.read_fp8);
      if (!raw.ok()) return std::move(raw).error().with_context(spec.name);
      kept = std::move(raw).value();
    }
    auto packed = kept ? Result<PackedWeight>(std::move(*kept)) : pack_weight(*w, spec.rows, spec.cols, format, choice.q4_group);
    if (!packed.ok()) return std::move(packed).error().with_context(spec.name);
    plan::TensorEntry e;
    e.name = spec.name;
    e.format = packed->format;
    e.rows = spec.rows;
    e.cols = spec.cols;
    e.group = packed->group;
    e.quant_nmse = packed->format == WeightFormat::kF32 ? 0.0 : normalized_mse(*w, unpack_weight(*packed));
    R1VK_ASSIGN_OR_RETURN(e.data, writer.add_blob(packed->data));
    R1VK_ASSIGN_OR_RETURN(e.scales, writer.add_blob(packed->scales));
    m.memory.weight_bytes += e.data.size + e.scales.size;
    m.tensors.push_back(std::move(e));
    done += static_cast<uint64_t>(spec.rows * spec.cols) * 4;
    if (opt.progress) opt.progress(done, total);
  }
  // The arena is planned once the weights' bytes are known: the default chunk depends on them.
  m.memory.prefill_chunk = opt.prefill_chunk > 0 ? std::min(opt.prefill_chunk, max_context)
                                                 : choose_prefill_chunk(m.main, m.memory.weight_bytes, max_context);
  m.memory.arena_bytes = plan_memory(m.main, m.memory.prefill_chunk);
  m.memory.mtp_arena_bytes = m.mtp.ops.empty() ? 0 : plan_memory(m.mtp, m.memory.prefill_chunk);
  R1VK_TRY(plan::validate_manifest(m));
  R1VK_TRY(writer.finish(plan::manifest_to_json(m).dump()));
  if (report) {
    report->source_bytes = total;
    report->plan_bytes = writer.bytes_written();
    report->seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - start).count();
  }
  return m;
}

}  // namespace r1vk
