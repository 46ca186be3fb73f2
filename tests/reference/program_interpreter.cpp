#include "reference/program_interpreter.h"

#include <cmath>
#include <cstring>

#include "base/numeric_formats.h"
#include "reference/reference_model.h"
#include "reference/reference_ops.h"

namespace r1vk::ref {

using plan::ActRef;
using plan::Op;
using plan::OpKind;

namespace {

// The activation arena of one run: every value as its own [T, width] matrix (the memory plan's
// sharing is checked separately; here correctness of the op semantics is what counts).
struct Activations {
  std::vector<std::vector<float>> data;
  std::vector<int64_t> width;
  int64_t T = 0;

  float* row(const ActRef& r, int64_t t) { return data[static_cast<size_t>(r.value)].data() + t * width[static_cast<size_t>(r.value)] + r.col; }
};

int32_t as_int(float f) {
  int32_t i;
  std::memcpy(&i, &f, 4);
  return i;
}

float from_int(int32_t i) {
  float f;
  std::memcpy(&f, &i, 4);
  return f;
}

}  // namespace

ProgramInterpreter::ProgramInterpreter(const InterpreterModel& model) : model_(model) {
  cache_.assign(static_cast<size_t>(model.kv_layers),
                std::vector<uint16_t>(static_cast<size_t>(model.max_context * model.kv_width), 0));
}

Result<std::vector<float>> ProgramInterpreter::run(const plan::Program& p, std::span<const int32_t> tokens, int64_t pos0,
                                                   std::span<const float> hidden_in, std::vector<float>* hidden_out) {
  const int64_t T = static_cast<int64_t>(tokens.size());
  if (pos0 + T > model_.max_context) {
    return make_error(ErrorCode::kOutOfRange, "context of " + std::to_string(model_.max_context) + " tokens exceeded");
  }
  Activations a;
  a.T = T;
  for (const auto& v : p.values) {
    a.data.emplace_back(static_cast<size_t>(T * v.width), 0.0f);
    a.width.push_back(v.width);
  }
  for (int64_t t = 0; t < T; ++t) a.data[static_cast<size_t>(p.tokens_value)][static_cast<size_t>(t)] = from_int(tokens[t]);
  if (!hidden_in.empty()) a.data[static_cast<size_t>(p.hidden_value)].assign(hidden_in.begin(), hidden_in.end());

  const auto& W = model_.weights;
  for (const Op& op : p.ops) {
    auto wt = [&](size_t i) -> const std::vector<float>& { return W[static_cast<size_t>(op.weights[i])]; };
    const ActRef in = op.inputs.empty() ? ActRef{} : op.inputs[0];
    const ActRef out = op.outputs.empty() ? ActRef{} : op.outputs[0];
    for (int64_t t = 0; t < T; ++t) {
      const int64_t pos = pos0 + t;
      switch (op.kind) {
        case OpKind::kEmbed: {
          const int32_t tok = as_int(*a.row(in, t));
          const bool zero = op.ints.count("zero_at_position0") && op.ints.at("zero_at_position0") && pos == 0;
          for (int64_t i = 0; i < out.cols; ++i) a.row(out, t)[i] = zero ? 0.0f : wt(0)[static_cast<size_t>(tok * out.cols + i)];
          break;
        }
        case OpKind::kRmsNorm:
          rmsnorm({a.row(in, t), static_cast<size_t>(in.cols)}, wt(0), static_cast<float>(op.reals.at("eps")),
                  {a.row(out, t), static_cast<size_t>(out.cols)});
          break;
        case OpKind::kLinear: {
          std::vector<float> y(static_cast<size_t>(out.cols));
          matvec(wt(0), out.cols, in.cols, {a.row(in, t), static_cast<size_t>(in.cols)}, y);
          if (op.weights.size() > 1) add(y, wt(1), y);
          float* o = a.row(out, t);
          const bool acc = op.ints.at("accumulate") != 0;
          for (int64_t i = 0; i < out.cols; ++i) o[i] = acc ? o[i] + y[static_cast<size_t>(i)] : y[static_cast<size_t>(i)];
          break;
        }
        case OpKind::kLinearHeads: {
          const int64_t H = op.ints.at("heads"), stride = op.ints.at("in_head_stride"), off = op.ints.at("in_offset");
          const int64_t rows = out.cols / H, cols = static_cast<int64_t>(wt(0).size()) / (rows * H);
          for (int64_t h = 0; h < H; ++h) {
            std::span<const float> wh(wt(0).data() + h * rows * cols, static_cast<size_t>(rows * cols));
            matvec(wh, rows, cols, {a.row(in, t) + h * stride + off, static_cast<size_t>(cols)},
                   {a.row(out, t) + h * rows, static_cast<size_t>(rows)});
          }
          break;
        }
        case OpKind::kRope: {
          const int64_t H = op.ints.at("heads"), stride = op.ints.at("head_stride"), off = op.ints.at("offset");
          const int64_t dim = op.ints.at("dim");
          const auto style = op.ints.at("interleaved") ? RopeStyle::kInterleaved : RopeStyle::kNeox;
          for (int64_t h = 0; h < H; ++h)
            apply_rope({a.row(out, t) + h * stride + off, static_cast<size_t>(dim)}, model_.rope_freqs, pos, style,
                       model_.rope_magnitude);
          break;
        }
        case OpKind::kSwiGlu: {
          const int64_t n = out.cols;
          swiglu({a.row(in, t), static_cast<size_t>(n)}, {a.row(in, t) + n, static_cast<size_t>(n)},
                 {a.row(out, t), static_cast<size_t>(n)});
          break;
        }
        case OpKind::kMlaKvStore: {
          const int64_t c = op.ints.at("kv_lora_rank"), dr = op.ints.at("rope_dim");
          std::vector<float> row(static_cast<size_t>(c + dr));
          rmsnorm({a.row(in, t), static_cast<size_t>(c)}, wt(0), static_cast<float>(op.reals.at("eps")),
                  {row.data(), static_cast<size_t>(c)});
          std::memcpy(row.data() + c, a.row(in, t) + c, static_cast<size_t>(dr) * 4);
          apply_rope({row.data() + c, static_cast<size_t>(dr)}, model_.rope_freqs, pos, RopeStyle::kInterleaved,
                     model_.rope_magnitude);
          auto& cache = cache_[static_cast<size_t>(op.ints.at("layer"))];
          for (int64_t i = 0; i < c + dr; ++i) cache[static_cast<size_t>(pos * model_.kv_width + i)] = f32_to_f16(row[static_cast<size_t>(i)]);
          break;
        }
        case OpKind::kGqaKvStore: {
          auto& cache = cache_[static_cast<size_t>(op.ints.at("layer"))];
          for (int64_t i = 0; i < in.cols; ++i) cache[static_cast<size_t>(pos * model_.kv_width + i)] = f32_to_f16(a.row(in, t)[i]);
          break;
        }
        case OpKind::kMlaAttention: {
          const int64_t H = op.ints.at("heads"), c = op.ints.at("kv_lora_rank"), dr = op.ints.at("rope_dim");
          const int64_t qs = op.ints.at("q_head_stride"), qo = op.ints.at("q_rope_offset");
          const auto& cache = cache_[static_cast<size_t>(op.ints.at("layer"))];
          const double scale = op.reals.at("scale");
          std::vector<float> prob(static_cast<size_t>(pos + 1));
          for (int64_t h = 0; h < H; ++h) {
            const float* ql = a.row(op.inputs[0], t) + h * c;
            const float* qp = a.row(op.inputs[1], t) + h * qs + qo;
            for (int64_t j = 0; j <= pos; ++j) {
              const uint16_t* kv = cache.data() + j * model_.kv_width;
              double s = 0.0;
              for (int64_t i = 0; i < c; ++i) s += static_cast<double>(ql[i]) * f16_to_f32(kv[i]);
              for (int64_t i = 0; i < dr; ++i) s += static_cast<double>(qp[i]) * f16_to_f32(kv[c + i]);
              prob[static_cast<size_t>(j)] = static_cast<float>(s * scale);
            }
            softmax(prob);
            float* o = a.row(out, t) + h * c;
            for (int64_t i = 0; i < c; ++i) {
              double acc = 0.0;
              for (int64_t j = 0; j <= pos; ++j) acc += static_cast<double>(prob[static_cast<size_t>(j)]) * f16_to_f32(cache[static_cast<size_t>(j * model_.kv_width + i)]);
              o[i] = static_cast<float>(acc);
            }
          }
          break;
        }
        case OpKind::kGqaAttention: {
          const int64_t H = op.ints.at("heads"), KV = op.ints.at("kv_heads"), d = op.ints.at("head_dim");
          const auto& cache = cache_[static_cast<size_t>(op.ints.at("layer"))];
          const double scale = op.reals.at("scale");
          std::vector<float> prob(static_cast<size_t>(pos + 1));
          for (int64_t h = 0; h < H; ++h) {
            const int64_t g = h / (H / KV);
            const float* q = a.row(in, t) + h * d;
            for (int64_t j = 0; j <= pos; ++j) {
              double s = 0.0;
              for (int64_t i = 0; i < d; ++i) s += static_cast<double>(q[i]) * f16_to_f32(cache[static_cast<size_t>(j * model_.kv_width + g * d + i)]);
              prob[static_cast<size_t>(j)] = static_cast<float>(s * scale);
            }
            softmax(prob);
            for (int64_t i = 0; i < d; ++i) {
              double acc = 0.0;
              for (int64_t j = 0; j <= pos; ++j)
                acc += static_cast<double>(prob[static_cast<size_t>(j)]) * f16_to_f32(cache[static_cast<size_t>(j * model_.kv_width + KV * d + g * d + i)]);
              a.row(out, t)[h * d + i] = static_cast<float>(acc);
            }
          }
          break;
        }
        case OpKind::kMoeRoute: {
          MoeConfig m;
          m.n_routed_experts = op.ints.at("experts");
          m.num_experts_per_tok = op.ints.at("top_k");
          m.n_group = op.ints.at("n_group");
          m.topk_group = op.ints.at("topk_group");
          m.scoring_func = op.ints.at("sigmoid") ? ScoringFunc::kSigmoid : ScoringFunc::kSoftmax;
          const int64_t gs = op.ints.at("group_score");
          m.topk_method = gs == 2 ? TopkMethod::kNoauxTc : (gs == 1 ? TopkMethod::kGroupLimitedGreedy : TopkMethod::kGreedy);
          m.norm_topk_prob = op.ints.at("normalize") != 0;
          m.routed_scaling_factor = op.reals.at("scaling");
          std::span<const float> bias;
          if (!op.weights.empty()) bias = wt(0);
          const RouteChoice r = route(m, {a.row(in, t), static_cast<size_t>(in.cols)}, bias);
          for (int64_t k = 0; k < m.num_experts_per_tok; ++k) {
            a.row(op.outputs[0], t)[k] = from_int(static_cast<int32_t>(r.experts[static_cast<size_t>(k)]));
            a.row(op.outputs[1], t)[k] = r.weights[static_cast<size_t>(k)];
          }
          break;
        }
        case OpKind::kMoeExperts: {
          const int64_t E = op.ints.at("experts"), K = op.ints.at("top_k"), I = op.ints.at("width");
          const int64_t hid = in.cols;
          std::vector<float> gu(static_cast<size_t>(2 * I)), act(static_cast<size_t>(I)), y(static_cast<size_t>(hid));
          for (int64_t k = 0; k < K; ++k) {
            const int32_t e = as_int(a.row(op.inputs[1], t)[k]);
            const float w = a.row(op.inputs[2], t)[k];
            matvec(wt(static_cast<size_t>(e)), 2 * I, hid, {a.row(in, t), static_cast<size_t>(hid)}, gu);
            swiglu({gu.data(), static_cast<size_t>(I)}, {gu.data() + I, static_cast<size_t>(I)}, act);
            matvec(wt(static_cast<size_t>(E + e)), hid, I, act, y);
            for (int64_t i = 0; i < hid; ++i) a.row(out, t)[i] += w * y[static_cast<size_t>(i)];
          }
          break;
        }
        case OpKind::kCount:
          return make_error(ErrorCode::kInternal, "invalid op in program");
      }
    }
  }
  if (hidden_out && p.hidden_value >= 0) *hidden_out = a.data[static_cast<size_t>(p.hidden_value)];
  return a.data[static_cast<size_t>(p.logits_value)];
}

}  // namespace r1vk::ref
