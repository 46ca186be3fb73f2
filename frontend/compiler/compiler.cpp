#include "compiler/compiler.h"

#include <algorithm>
#include <chrono>
#include <cmath>
#include <cstring>
#include <numeric>
#include <thread>

#include "compiler/ordered_pool.h"
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

// The plan format of a tensor that is converted (not kept as stored).
WeightFormat chosen_format(const WeightSpec& spec, const CompileInput& in, const CompileOptions& opt, const FormatChoice& choice) {
  WeightFormat format = format_for(spec.role, choice);
  // Embeddings and the head follow their source too (an F16 GGUF's stay f16), but never below
  // the q8 floor format_for gives them.
  const bool q8_floor = spec.role == WeightRole::kEmbedding || spec.role == WeightRole::kLmHead;
  if (opt.weights == "auto" && in.source_format && (spec.role == WeightRole::kLinear || q8_floor) && !spec.sources.empty()) {
    // Parts stored differently (a Q4_K_M file's fused qkv: Q4_K q and k, Q6_K v) get the most
    // precise of their formats, so no part is rounded coarser than it was stored.
    std::optional<WeightFormat> chosen;
    for (const std::string& source : spec.sources) {
      const std::optional<WeightFormat> f = in.source_format(source);
      if (f && (!chosen || precision_rank(*f) < precision_rank(*chosen))) chosen = f;
    }
    if (chosen && (!q8_floor || precision_rank(*chosen) < precision_rank(format))) format = *chosen;
  }
  return format;
}

// Whether keep_fp8 would keep this tensor's FP8 bytes: every part stored as F8_E4M3 and all but
// the last ending on a block row.
Result<bool> fp8_keepable(const WeightSpec& spec, const Fp8Fn& read_fp8) {
  if (spec.transform != WeightTransform::kNone && spec.transform != WeightTransform::kConcatRows) return false;
  for (size_t i = 0; i < spec.sources.size(); ++i) {
    const int64_t rows = spec.transform == WeightTransform::kNone ? spec.rows : spec.source_rows[i];
    if (i + 1 < spec.sources.size() && rows % kFp8Block != 0) return false;
    R1VK_ASSIGN_OR_RETURN(auto raw, read_fp8(spec.sources[i]));
    if (!raw) return false;
  }
  return true;
}

// One job of the pipeline: a whole tensor, or rows [row_begin, row_end) of one.
struct TensorSlice {
  size_t spec = 0;
  int64_t row_begin = 0;
  int64_t row_end = 0;
  bool whole = true;
  bool last = true;        // the tensor's last slice: its entry is complete after it
  bool keep_fp8 = false;   // sliced FP8 bytes kept as stored (fp8 plans of FP8 checkpoints)
  WeightFormat format = WeightFormat::kF32;  // sliced jobs: decided when slicing
};

// What a job hands to the writer: the packed bytes of its rows and their error sums.
struct SliceResult {
  PackedWeight packed;
  SquaredErrorSums sums;
  bool exact = false;  // quant_nmse 0: the stored values themselves
};

// Quantisers, their error sums and the manifest assume finite weights: a NaN or an infinity in
// a checkpoint would become NaN scales (or a NaN quant_nmse the manifest cannot hold) and NaN
// logits at run time, which the sampler would turn into token 0 without a word. So the compiler
// refuses it, naming the tensor and where. `w` holds rows [first_row, first_row + w.size() /
// cols) of the plan tensor `spec` (after its transform). The scan is an OR over the exponent
// bits, which vectorises; only a bad tensor is searched a second time.
Status check_finite(const std::vector<float>& w, int64_t cols, int64_t first_row, const WeightSpec& spec) {
  uint32_t all_ones = 0;
  for (float v : w) {
    uint32_t bits;
    std::memcpy(&bits, &v, sizeof(bits));
    all_ones |= static_cast<uint32_t>((bits & 0x7f800000u) == 0x7f800000u);
  }
  if (all_ones == 0) return ok_status();
  const auto bad = std::find_if(w.begin(), w.end(), [](float v) { return !std::isfinite(v); });
  const int64_t at = bad - w.begin();
  std::string sources;
  for (const std::string& s : spec.sources) sources += (sources.empty() ? "" : ", ") + s;
  return make_error(ErrorCode::kCorruptData,
                    "a weight is " + std::string(std::isnan(*bad) ? "NaN" : "infinite") + " at row " +
                        std::to_string(first_row + at / cols) + ", column " + std::to_string(at % cols) +
                        (sources.empty() ? "" : " (read from " + sources + ")") +
                        ": r1vk compiles only finite weights");
}

// The whole-tensor conversion (the only one before slicing existed; tensors up to
// slice_elements still take it, so their bytes and quant_nmse are exactly what they were).
Result<SliceResult> convert_whole(const WeightSpec& spec, const CompileInput& in, const CompileOptions& opt,
                                  const FormatChoice& choice) {
  SliceResult r;
  if (opt.weights == "auto" && in.read_blocks && !keeps_f32(spec.role)) {
    R1VK_ASSIGN_OR_RETURN(auto raw, keep_blocks(spec, in.read_blocks));
    if (raw) {
      r.packed = std::move(*raw);
      r.exact = true;  // the stored values themselves
      return r;
    }
  }
  R1VK_ASSIGN_OR_RETURN(std::vector<float> w, gather_weight(spec, in.read));
  R1VK_TRY(check_finite(w, spec.cols, 0, spec));
  const WeightFormat format = chosen_format(spec, in, opt, choice);
  std::optional<PackedWeight> kept;
  if (format == WeightFormat::kFp8 && in.read_fp8) {
    R1VK_ASSIGN_OR_RETURN(kept, keep_fp8(spec, in.read_fp8));
  }
  if (kept) {
    r.packed = std::move(*kept);
  } else {
    R1VK_ASSIGN_OR_RETURN(r.packed, pack_weight(w, spec.rows, spec.cols, format, choice.q4_group));
  }
  r.exact = r.packed.format == WeightFormat::kF32;
  if (!r.exact) r.sums = squared_error_sums(w, r.packed);
  return r;
}

// Rows [b, e) of a kept FP8 tensor: the stored e4m3 bytes and block scales of those rows. b is
// a multiple of the block and parts end on block rows (fp8_keepable), so the scale rows of the
// parts concatenate into the slice's.
Result<PackedWeight> keep_fp8_rows(const WeightSpec& spec, int64_t b, int64_t e, const Fp8Fn& read_fp8) {
  std::vector<uint8_t> q;
  std::vector<float> scales;
  const int64_t bc = (spec.cols + kFp8Block - 1) / kFp8Block;
  int64_t first = 0;
  for (size_t i = 0; i < spec.sources.size(); ++i) {
    const int64_t n = spec.transform == WeightTransform::kNone ? spec.rows : spec.source_rows[i];
    const int64_t pb = std::max(b, first) - first, pe = std::min(e, first + n) - first;
    first += n;
    if (pb >= pe) continue;
    R1VK_ASSIGN_OR_RETURN(auto raw, read_fp8(spec.sources[i]));
    if (!raw || static_cast<int64_t>(raw->q.size()) != n * spec.cols ||
        static_cast<int64_t>(raw->scale_inv.size()) != (n + kFp8Block - 1) / kFp8Block * bc) {
      return make_error(ErrorCode::kCorruptData, spec.sources[i] + ": FP8 bytes or scales do not match its shape");
    }
    q.insert(q.end(), raw->q.begin() + pb * spec.cols, raw->q.begin() + pe * spec.cols);
    scales.insert(scales.end(), raw->scale_inv.begin() + pb / kFp8Block * bc,
                  raw->scale_inv.begin() + (pe + kFp8Block - 1) / kFp8Block * bc);
  }
  return pack_fp8_checkpoint(q, scales, e - b, spec.cols);
}

Result<SliceResult> convert_slice(const TensorSlice& s, const WeightSpec& spec, const CompileInput& in,
                                  const FormatChoice& choice) {
  SliceResult r;
  if (s.keep_fp8) {
    // Copy the stored bytes before reading the rows as f32, which releases their pages.
    R1VK_ASSIGN_OR_RETURN(r.packed, keep_fp8_rows(spec, s.row_begin, s.row_end, in.read_fp8));
  }
  R1VK_ASSIGN_OR_RETURN(std::vector<float> w, gather_weight_rows(spec, s.row_begin, s.row_end, in.read_rows));
  R1VK_TRY(check_finite(w, spec.cols, s.row_begin, spec));
  const int64_t rows = s.row_end - s.row_begin;
  if (!s.keep_fp8) {
    R1VK_ASSIGN_OR_RETURN(r.packed, pack_weight(w, rows, spec.cols, s.format, choice.q4_group));
  }
  r.exact = r.packed.format == WeightFormat::kF32;
  if (!r.exact) r.sums = squared_error_sums(w, r.packed);
  return r;
}

// Splits the tensors into jobs: whole tensors, or row slices of those larger than
// opt.slice_elements when they can be read by rows. Slice boundaries depend on shapes and
// slice_elements only, never on the thread count, so the plan is the same for any count.
Result<std::vector<TensorSlice>> plan_slices(const std::vector<WeightSpec>& weights, const CompileInput& in,
                                             const CompileOptions& opt, const FormatChoice& choice) {
  std::vector<TensorSlice> jobs;
  for (size_t i = 0; i < weights.size(); ++i) {
    const WeightSpec& spec = weights[i];
    TensorSlice whole;
    whole.spec = i;
    whole.row_end = spec.rows;
    const bool kept_blocks = opt.weights == "auto" && in.read_blocks && !keeps_f32(spec.role);
    if (!in.read_rows || kept_blocks || spec.rows * spec.cols <= opt.slice_elements || spec.sources.empty()) {
      jobs.push_back(whole);
      continue;
    }
    TensorSlice slice = whole;
    slice.whole = false;
    slice.format = chosen_format(spec, in, opt, choice);
    if (slice.format == WeightFormat::kFp8 && in.read_fp8) {
      auto keep = fp8_keepable(spec, in.read_fp8);
      if (!keep.ok()) return std::move(keep).error().with_context(spec.name);
      slice.keep_fp8 = *keep;
    }
    // Whole heads of absorbed matrices, and whole 128-row blocks (FP8 scales, kept or
    // requantised, cover 128 rows; every other format is per row).
    const int64_t unit = slice_row_unit(spec);
    const int64_t step = std::lcm(unit, kFp8Block);
    const int64_t rows_per = std::max(step, opt.slice_elements / spec.cols / step * step);
    if (rows_per >= spec.rows) {
      jobs.push_back(whole);
      continue;
    }
    for (int64_t b = 0; b < spec.rows; b += rows_per) {
      slice.row_begin = b;
      slice.row_end = std::min(spec.rows, b + rows_per);
      slice.last = slice.row_end == spec.rows;
      jobs.push_back(slice);
    }
  }
  return jobs;
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
  if (opt.slice_elements <= 0) {
    return make_error(ErrorCode::kInvalidArgument, "slice_elements must be positive, got " + std::to_string(opt.slice_elements));
  }
  if (opt.threads < 0) return make_error(ErrorCode::kInvalidArgument, "--threads must be >= 0, got " + std::to_string(opt.threads));
  const int threads = opt.threads > 0 ? opt.threads : static_cast<int>(std::max(1u, std::thread::hardware_concurrency()));
  R1VK_ASSIGN_OR_RETURN(std::vector<TensorSlice> jobs, plan_slices(graph.weights, in, opt, choice));
  R1VK_ASSIGN_OR_RETURN(plan::PlanWriter writer, plan::PlanWriter::create(out_path));

  // Workers convert jobs; this thread writes each tensor's data and scales blobs slice by slice
  // in order. Results waiting to be written hold only packed bytes; at most 2 x threads jobs
  // are alive, which with slice_elements bounds the working set (docs/import.md).
  uint64_t done = 0;
  plan::TensorEntry entry;
  plan::BlobStream data_blob, scales_blob;
  SquaredErrorSums sums;
  bool exact = false;
  const std::function<Result<SliceResult>(size_t)> job = [&](size_t i) -> Result<SliceResult> {
    const TensorSlice& s = jobs[i];
    const WeightSpec& spec = graph.weights[s.spec];
    auto r = s.whole ? convert_whole(spec, in, opt, choice) : convert_slice(s, spec, in, choice);
    if (s.whole && in.release) {
      for (const std::string& source : spec.sources) in.release(source);
    }
    if (!r.ok()) return std::move(r).error().with_context(spec.name);
    return r;
  };
  const std::function<Status(size_t, SliceResult&&)> write = [&](size_t i, SliceResult&& r) -> Status {
    const TensorSlice& s = jobs[i];
    const WeightSpec& spec = graph.weights[s.spec];
    const PackedWeight& p = r.packed;
    if (s.row_begin == 0) {
      entry = plan::TensorEntry{};
      entry.name = spec.name;
      entry.format = p.format;
      entry.rows = spec.rows;
      entry.cols = spec.cols;
      entry.group = p.group;
      uint64_t data_size = p.data.size(), scales_size = p.scales.size();
      if (!s.whole) {
        R1VK_ASSIGN_OR_RETURN(data_size, packed_data_bytes(p.format, spec.rows, spec.cols, p.group));
        R1VK_ASSIGN_OR_RETURN(scales_size, packed_scale_bytes(p.format, spec.rows, spec.cols, p.group));
      }
      R1VK_ASSIGN_OR_RETURN(data_blob, writer.begin_blob(data_size));
      R1VK_ASSIGN_OR_RETURN(scales_blob, writer.begin_blob(scales_size));
      sums = {};
      exact = r.exact;
    }
    if (p.format != entry.format || p.group != entry.group) {
      return make_error(ErrorCode::kInternal, spec.name + ": slices packed in different formats");
    }
    R1VK_TRY(writer.append(data_blob, p.data));
    R1VK_TRY(writer.append(scales_blob, p.scales));
    sums.add(r.sums);
    if (s.last) {
      R1VK_ASSIGN_OR_RETURN(entry.data, writer.end_blob(data_blob));
      R1VK_ASSIGN_OR_RETURN(entry.scales, writer.end_blob(scales_blob));
      entry.quant_nmse = exact ? 0.0 : sums.error_ratio();
      m.memory.weight_bytes += entry.data.size + entry.scales.size;
      m.tensors.push_back(std::move(entry));
    }
    done += static_cast<uint64_t>((s.row_end - s.row_begin) * spec.cols) * 4;
    if (opt.progress) opt.progress(done, total);
    return ok_status();
  };
  R1VK_TRY(run_ordered<SliceResult>(jobs.size(), threads, 2 * static_cast<size_t>(threads), job, write));
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
