#include "plan/plan_dump.h"

#include <cstdio>
#include <sstream>

namespace r1vk::plan {
namespace {

std::string ref_text(const Program& p, const ActRef& r) {
  const Value& v = p.values[static_cast<size_t>(r.value)];
  std::string s = v.name;
  if (r.col != 0 || r.cols != v.width) s += "[" + std::to_string(r.col) + ":" + std::to_string(r.col + r.cols) + "]";
  return s;
}

std::string real_text(double v) {
  char buf[32];
  std::snprintf(buf, sizeof(buf), "%.9g", v);
  return buf;
}

std::string bytes_text(uint64_t b) {
  char buf[32];
  if (b >= (1ull << 30)) std::snprintf(buf, sizeof(buf), "%.2f GiB", static_cast<double>(b) / (1ull << 30));
  else if (b >= (1ull << 20)) std::snprintf(buf, sizeof(buf), "%.2f MiB", static_cast<double>(b) / (1ull << 20));
  else if (b >= (1ull << 10)) std::snprintf(buf, sizeof(buf), "%.2f KiB", static_cast<double>(b) / (1ull << 10));
  else std::snprintf(buf, sizeof(buf), "%llu B", static_cast<unsigned long long>(b));
  return buf;
}

void dump_program(std::ostringstream& o, const Manifest& m, const Program& p, const char* name) {
  o << "program " << name << " (T tokens per submit; decode T=1, prefill T<=" << m.memory.prefill_chunk << "): "
    << p.ops.size() << " ops, " << p.values.size() << " values\n";
  for (size_t i = 0; i < p.ops.size(); ++i) {
    const Op& op = p.ops[i];
    o << "  " << i << " " << op_kind_name(op.kind) << " " << op.label << ":";
    for (const auto& r : op.inputs) o << " " << ref_text(p, r);
    o << " ->";
    for (const auto& r : op.outputs) o << " " << ref_text(p, r);
    if (!op.weights.empty()) {
      o << " |";
      const size_t shown = std::min<size_t>(op.weights.size(), 2);
      for (size_t w = 0; w < shown; ++w) o << " " << m.tensors[static_cast<size_t>(op.weights[w])].name;
      if (op.weights.size() > shown) o << " (+" << op.weights.size() - shown << " more)";
    }
    for (const auto& [k, v] : op.ints) o << " " << k << "=" << v;
    for (const auto& [k, v] : op.reals) o << " " << k << "=" << real_text(v);
    o << "\n";
  }
}

}  // namespace

std::string summarize_plan(const Manifest& m) {
  std::ostringstream o;
  const MemoryPlan& mp = m.memory;
  o << "plan: " << m.model_name << "\n";
  o << "weights: " << m.weights_requested << ", " << m.tensors.size() << " tensors, " << bytes_text(mp.weight_bytes) << "\n";
  o << "tokenizer: " << (m.has_tokenizer() ? "embedded" : "none (token-id commands only)") << "\n";
  o << "context: " << mp.max_context << " tokens, prefill chunk " << mp.prefill_chunk << "\n";
  o << "memory: weights " << bytes_text(mp.weight_bytes) << ", KV cache " << bytes_text(mp.kv_bytes()) << " ("
    << mp.kv_layers << " layers x " << mp.kv_width << " f16 per token = " << bytes_text(static_cast<uint64_t>(mp.kv_layers * mp.kv_width * 2))
    << "/token), activations " << bytes_text(mp.arena_bytes);
  if (mp.mtp_arena_bytes) o << " + MTP " << bytes_text(mp.mtp_arena_bytes);
  o << "\n";
  return o.str();
}

std::string dump_plan(const Manifest& m) {
  std::ostringstream o;
  o << summarize_plan(m);
  o << "tensors:\n";
  for (size_t i = 0; i < m.tensors.size(); ++i) {
    const TensorEntry& t = m.tensors[i];
    o << "  " << i << " " << t.name << " " << weight_format_name(t.format) << " [" << t.rows << ", " << t.cols << "]";
    if (t.group) o << " group " << t.group;
    o << "\n";
  }
  o << "rope: " << m.rope_freqs.size() << " frequencies, magnitude " << real_text(m.rope_magnitude) << "\n";
  dump_program(o, m, m.main, "main");
  if (!m.mtp.ops.empty()) dump_program(o, m, m.mtp, "mtp");
  return o.str();
}

}  // namespace r1vk::plan
