#include "exec/norm_fusion.h"

#include <algorithm>

#include "exec/op_attrs.h"

namespace r1vk::exec {
namespace {

using plan::OpKind;

struct Bytes {
  uint64_t begin = 0, end = 0;
  bool overlaps(const Bytes& o) const { return begin < o.end && o.begin < end; }
};

// The arena bytes of a value (all its rows).
Bytes value_bytes(const plan::Program& p, int32_t value, uint64_t rows) {
  const plan::Value& v = p.values[static_cast<size_t>(value)];
  return {v.offset, v.offset + static_cast<uint64_t>(v.width) * 4 * rows};
}

bool same_window(const plan::ActRef& a, const plan::ActRef& b) {
  return a.value == b.value && a.col == b.col && a.cols == b.cols;
}

// Ops that read their output's old contents besides their inputs.
bool reads_own_output(const plan::Op& op) {
  switch (op.kind) {
    case OpKind::kLinear: return attr_int_or(op, "accumulate", 1) != 0;
    case OpKind::kRmsNorm:
    case OpKind::kEmbed:
    case OpKind::kSwiGlu:
    case OpKind::kLinearHeads:
      return false;
    default: return true;  // accumulating or unknown: assume so
  }
}

}  // namespace

size_t NormFusion::fused() const { return static_cast<size_t>(std::count(skip.begin(), skip.end(), true)); }

namespace {

// The linear ops that read op i's output y (one input x, one output) and could read x in its
// place (the conditions of plan_norm_fusion, norm_fusion.h), or nullopt.
std::optional<std::vector<size_t>> foldable_readers(const plan::Program& p, size_t i, size_t end, uint64_t rows,
                                                    std::span<const int32_t> keep, std::optional<size_t> head_op) {
  const plan::Op& op_i = p.ops[i];
  const plan::ActRef x = op_i.inputs[0], y = op_i.outputs[0];
  if (x.value < 0 || y.value < 0 || std::find(keep.begin(), keep.end(), y.value) != keep.end()) return std::nullopt;
  const Bytes xb = value_bytes(p, x.value, rows), yb = value_bytes(p, y.value, rows);
  if (xb.overlaps(yb)) return std::nullopt;
  std::vector<size_t> readers;
  bool ok = true, x_written = false;
  for (size_t j = i + 1; j < p.ops.size() && ok; ++j) {
    const plan::Op& op = p.ops[j];
    const bool reads_y = std::any_of(op.inputs.begin(), op.inputs.end(),
                                     [&](const plan::ActRef& r) { return value_bytes(p, r.value, rows).overlaps(yb); });
    bool writes_y = false, partial_y = false;
    for (const plan::ActRef& r : op.outputs) {
      const Bytes rb = value_bytes(p, r.value, rows);
      if (rb.overlaps(xb)) x_written = true;
      if (rb.overlaps(yb)) {
        writes_y = true;
        // Another value in y's bytes: the arena planner reuses only bytes whose value is dead,
        // so y's life ended. y's own value: a full rewrite of the window ends it too.
        if (r.value == y.value && (!same_window(r, y) || reads_own_output(op))) partial_y = true;
      }
    }
    if (reads_y) {
      ok = op.kind == OpKind::kLinear && op.inputs.size() == 1 && same_window(op.inputs[0], y) && j < end && !x_written &&
           (!head_op || *head_op != j) && !(writes_y && reads_own_output(op));
      readers.push_back(j);
    }
    if (writes_y) {
      // A partial write of y's value, or an op that reads what it overwrites, is not worth
      // proving safe.
      if (partial_y) ok = false;
      break;
    }
  }
  if (!ok || readers.empty()) return std::nullopt;
  return readers;
}

}  // namespace

NormFusion plan_norm_fusion(const plan::Program& p, OpRange range, uint64_t rows, std::span<const int32_t> keep,
                            std::optional<size_t> head_op) {
  const size_t n = p.ops.size();
  NormFusion f;
  f.skip.assign(n, false);
  f.norm_of.assign(n, -1);
  f.swiglu_of.assign(n, -1);
  const size_t end = std::min(range.end, n);
  for (size_t i = range.first; i < end; ++i) {
    const plan::Op& op = p.ops[i];
    const bool norm = op.kind == OpKind::kRmsNorm && op.weights.size() == 1;
    const bool swiglu = op.kind == OpKind::kSwiGlu && op.weights.empty();
    if ((!norm && !swiglu) || op.inputs.size() != 1 || op.outputs.size() != 1) continue;
    if (swiglu && op.inputs[0].cols != 2 * op.outputs[0].cols) continue;
    const auto readers = foldable_readers(p, i, end, rows, keep, head_op);
    if (!readers) continue;
    f.skip[i] = true;
    for (size_t j : *readers) (norm ? f.norm_of : f.swiglu_of)[j] = static_cast<int64_t>(i);
  }
  return f;
}

std::optional<EmbedNormFusion> plan_embed_norm_fusion(const plan::Program& p, OpRange range, uint64_t rows,
                                                      std::span<const int32_t> keep, int32_t external) {
  const size_t end = std::min(range.end, p.ops.size());
  auto one_each = [](const plan::Op& op) { return op.inputs.size() == 1 && op.outputs.size() == 1 && op.weights.size() == 1; };
  auto bytes = [&](int32_t value) { return value_bytes(p, value, rows); };
  auto disjoint = [&](int32_t a, int32_t b) { return a == external || b == external || !bytes(a).overlaps(bytes(b)); };
  for (size_t i = range.first; i + 1 < end; ++i) {
    const plan::Op& embed = p.ops[i];
    const plan::Op& norm = p.ops[i + 1];
    if (embed.kind != OpKind::kEmbed || norm.kind != OpKind::kRmsNorm || !one_each(embed) || !one_each(norm)) continue;
    const plan::ActRef tokens = embed.inputs[0], e = embed.outputs[0], y = norm.outputs[0];
    if (e.value < 0 || y.value < 0 || tokens.value < 0 || e.col != 0 || e.cols != p.values[static_cast<size_t>(e.value)].width)
      continue;
    if (!same_window(norm.inputs[0], e) || std::find(keep.begin(), keep.end(), e.value) != keep.end()) continue;
    // The fused kernel writes y while it reads the token ids: their bytes must differ.
    if (y.value == e.value || !disjoint(y.value, tokens.value)) continue;
    // Nothing but the norm reads the embedding (its bytes are never written now).
    bool other_reader = false;
    for (size_t j = 0; j < p.ops.size(); ++j) {
      if (j == i + 1) continue;
      for (const plan::ActRef& r : p.ops[j].inputs) other_reader = other_reader || r.value == e.value;
    }
    if (other_reader) continue;
    EmbedNormFusion f{i, i + 1, std::nullopt};
    if (i + 2 < end) {
      const plan::Op& n2 = p.ops[i + 2];
      if (n2.kind == OpKind::kRmsNorm && one_each(n2)) {
        const plan::ActRef x2 = n2.inputs[0], y2 = n2.outputs[0];
        const bool apart = y2.col + y2.cols <= y.col || y.col + y.cols <= y2.col;
        // Run early: its input is written by neither op it now runs with, and it reads none of
        // their outputs' bytes.
        if (y2.value == y.value && apart && x2.value >= 0 && x2.value != e.value && x2.value != y.value &&
            disjoint(x2.value, e.value) && disjoint(x2.value, y.value))
          f.second = i + 2;
      }
    }
    return f;
  }
  return std::nullopt;
}

}  // namespace r1vk::exec
