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

NormFusion plan_norm_fusion(const plan::Program& p, OpRange range, uint64_t rows, std::span<const int32_t> keep,
                            std::optional<size_t> head_op) {
  const size_t n = p.ops.size();
  NormFusion f;
  f.skip.assign(n, false);
  f.norm_of.assign(n, -1);
  const size_t end = std::min(range.end, n);
  for (size_t i = range.first; i < end; ++i) {
    const plan::Op& norm = p.ops[i];
    if (norm.kind != OpKind::kRmsNorm || norm.inputs.size() != 1 || norm.outputs.size() != 1 || norm.weights.size() != 1)
      continue;
    const plan::ActRef x = norm.inputs[0], y = norm.outputs[0];
    if (x.value < 0 || y.value < 0 || std::find(keep.begin(), keep.end(), y.value) != keep.end()) continue;
    const Bytes xb = value_bytes(p, x.value, rows), yb = value_bytes(p, y.value, rows);
    if (xb.overlaps(yb)) continue;
    std::vector<size_t> readers;
    bool ok = true, x_written = false;
    for (size_t j = i + 1; j < n && ok; ++j) {
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
        ok = op.kind == OpKind::kLinear && op.inputs.size() == 1 && same_window(op.inputs[0], y) && j < end &&
             !x_written && (!head_op || *head_op != j) && !(writes_y && reads_own_output(op));
        readers.push_back(j);
      }
      if (writes_y) {
        // A partial write of y's value, or an op that reads what it overwrites, is not worth
        // proving safe.
        if (partial_y) ok = false;
        break;
      }
    }
    if (!ok || readers.empty()) continue;
    f.skip[i] = true;
    for (size_t j : readers) f.norm_of[j] = static_cast<int64_t>(i);
  }
  return f;
}

}  // namespace r1vk::exec
