#include "plan/manifest.h"

#include <cmath>
#include <set>
#include <utility>

namespace r1vk::plan {

using json_fields::Json;
namespace jf = json_fields;

namespace {

constexpr int64_t kMaxValues = 1 << 24;

Json blob_json(const BlobRef& b) { return Json{{"offset", b.offset}, {"size", b.size}, {"xxh64", b.xxh64}}; }

Result<BlobRef> blob_from(const Json& obj, const std::string& key, const std::string& at) {
  R1VK_ASSIGN_OR_RETURN(const Json* b, jf::get_object(obj, key, at));
  BlobRef r;
  R1VK_ASSIGN_OR_RETURN(r.offset, jf::get_u64(*b, "offset", at + "." + key));
  R1VK_ASSIGN_OR_RETURN(r.size, jf::get_u64(*b, "size", at + "." + key));
  R1VK_ASSIGN_OR_RETURN(r.xxh64, jf::get_u64(*b, "xxh64", at + "." + key));
  return r;
}

Json program_json(const Program& p) {
  Json values = Json::array();
  for (const Value& v : p.values) {
    values.push_back({{"name", v.name}, {"width", v.width}, {"type", v.type == ValueType::kI32 ? "i32" : "f32"}, {"offset", v.offset}});
  }
  auto refs = [](const std::vector<ActRef>& rs) {
    Json a = Json::array();
    for (const ActRef& r : rs) a.push_back(Json::array({r.value, r.col, r.cols}));
    return a;
  };
  Json ops = Json::array();
  for (const Op& o : p.ops) {
    ops.push_back({{"kind", op_kind_name(o.kind)}, {"label", o.label}, {"in", refs(o.inputs)}, {"out", refs(o.outputs)},
                   {"weights", o.weights}, {"ints", o.ints}, {"reals", o.reals}});
  }
  return {{"values", values}, {"ops", ops}, {"tokens", p.tokens_value}, {"logits", p.logits_value}, {"hidden", p.hidden_value}};
}

Result<std::vector<ActRef>> refs_from(const Json& o, const std::string& key, const std::string& at) {
  R1VK_ASSIGN_OR_RETURN(const Json* a, jf::get_array(o, key, at));
  std::vector<ActRef> out;
  for (const Json& r : *a) {
    if (!r.is_array() || r.size() != 3 || !r[0].is_number_integer() || !r[1].is_number_integer() || !r[2].is_number_integer()) {
      return make_error(ErrorCode::kCorruptData, at + "." + key + ": expected [value, col, cols] triples");
    }
    out.push_back({r[0].get<int32_t>(), r[1].get<int64_t>(), r[2].get<int64_t>()});
  }
  return out;
}

Result<Program> program_from(const Json& j, const std::string& at) {
  Program p;
  R1VK_ASSIGN_OR_RETURN(const Json* values, jf::get_array(j, "values", at));
  if (static_cast<int64_t>(values->size()) > kMaxValues) return make_error(ErrorCode::kCorruptData, at + ": too many values");
  for (size_t i = 0; i < values->size(); ++i) {
    const std::string vat = at + ".values[" + std::to_string(i) + "]";
    Value v;
    R1VK_ASSIGN_OR_RETURN(v.name, jf::get_string((*values)[i], "name", vat));
    R1VK_ASSIGN_OR_RETURN(v.width, jf::get_i64((*values)[i], "width", vat));
    R1VK_ASSIGN_OR_RETURN(std::string type, jf::get_string((*values)[i], "type", vat));
    if (type != "f32" && type != "i32") return make_error(ErrorCode::kCorruptData, vat + ".type: expected f32 or i32");
    v.type = type == "i32" ? ValueType::kI32 : ValueType::kF32;
    R1VK_ASSIGN_OR_RETURN(v.offset, jf::get_u64((*values)[i], "offset", vat));
    p.values.push_back(std::move(v));
  }
  R1VK_ASSIGN_OR_RETURN(const Json* ops, jf::get_array(j, "ops", at));
  for (size_t i = 0; i < ops->size(); ++i) {
    const Json& o = (*ops)[i];
    const std::string oat = at + ".ops[" + std::to_string(i) + "]";
    Op op;
    R1VK_ASSIGN_OR_RETURN(std::string kind, jf::get_string(o, "kind", oat));
    auto k = parse_op_kind(kind);
    if (!k.ok()) return std::move(k).error().with_context(oat);
    op.kind = *k;
    R1VK_ASSIGN_OR_RETURN(op.label, jf::get_string(o, "label", oat));
    R1VK_ASSIGN_OR_RETURN(op.inputs, refs_from(o, "in", oat));
    R1VK_ASSIGN_OR_RETURN(op.outputs, refs_from(o, "out", oat));
    R1VK_ASSIGN_OR_RETURN(const Json* w, jf::get_array(o, "weights", oat));
    for (const Json& x : *w) {
      if (!x.is_number_integer()) return make_error(ErrorCode::kCorruptData, oat + ".weights: expected integers");
      op.weights.push_back(x.get<int32_t>());
    }
    R1VK_ASSIGN_OR_RETURN(const Json* ints, jf::get_object(o, "ints", oat));
    for (const auto& [key, val] : ints->items()) {
      if (!val.is_number_integer()) return make_error(ErrorCode::kCorruptData, oat + ".ints." + key + ": expected an integer");
      op.ints[key] = val.get<int64_t>();
    }
    R1VK_ASSIGN_OR_RETURN(const Json* reals, jf::get_object(o, "reals", oat));
    for (const auto& [key, val] : reals->items()) {
      if (!val.is_number()) return make_error(ErrorCode::kCorruptData, oat + ".reals." + key + ": expected a number");
      op.reals[key] = val.get<double>();
    }
    p.ops.push_back(std::move(op));
  }
  int64_t tokens, logits, hidden;
  R1VK_ASSIGN_OR_RETURN(tokens, jf::get_i64(j, "tokens", at));
  R1VK_ASSIGN_OR_RETURN(logits, jf::get_i64(j, "logits", at));
  R1VK_ASSIGN_OR_RETURN(hidden, jf::get_i64(j, "hidden", at));
  p.tokens_value = static_cast<int32_t>(tokens);
  p.logits_value = static_cast<int32_t>(logits);
  p.hidden_value = static_cast<int32_t>(hidden);
  return p;
}

Status validate_program(const Program& p, size_t tensors, uint64_t arena, int64_t rows, const std::string& at) {
  if (p.ops.empty()) return ok_status();
  const auto nv = static_cast<int32_t>(p.values.size());
  for (int32_t io : {p.tokens_value, p.logits_value, p.hidden_value}) {
    if (io < 0 || io >= nv) return make_error(ErrorCode::kCorruptData, at + ": input/output value index out of range");
  }
  for (const Value& v : p.values) {
    if (v.width <= 0 || v.width > (int64_t{1} << 32)) return make_error(ErrorCode::kCorruptData, at + ": value " + v.name + " has invalid width");
    const uint64_t bytes = static_cast<uint64_t>(v.width) * static_cast<uint64_t>(rows) * 4;
    if (v.offset > arena || bytes > arena - v.offset) {
      return make_error(ErrorCode::kCorruptData, at + ": value " + v.name + " lies outside the activation arena");
    }
  }
  for (size_t i = 0; i < p.ops.size(); ++i) {
    const Op& o = p.ops[i];
    const std::string oat = at + ".ops[" + std::to_string(i) + "] (" + o.label + ")";
    for (const auto* refs : {&o.inputs, &o.outputs}) {
      for (const ActRef& r : *refs) {
        if (r.value < 0 || r.value >= nv) return make_error(ErrorCode::kCorruptData, oat + ": value index out of range");
        const int64_t w = p.values[static_cast<size_t>(r.value)].width;
        if (r.col < 0 || r.cols <= 0 || r.col > w || r.cols > w - r.col) {
          return make_error(ErrorCode::kCorruptData, oat + ": column range outside its value");
        }
      }
    }
    for (int32_t w : o.weights) {
      if (w < 0 || static_cast<size_t>(w) >= tensors) return make_error(ErrorCode::kCorruptData, oat + ": tensor index out of range");
    }
  }
  return ok_status();
}

}  // namespace

Json manifest_to_json(const Manifest& m) {
  Json tensors = Json::array();
  for (const TensorEntry& t : m.tensors) {
    tensors.push_back({{"name", t.name}, {"format", weight_format_name(t.format)}, {"rows", t.rows}, {"cols", t.cols},
                       {"group", t.group}, {"data", blob_json(t.data)}, {"scales", blob_json(t.scales)},
                       {"quant_nmse", t.quant_nmse}});
  }
  const MemoryPlan& mp = m.memory;
  return {{"format_version", kFormatVersion},
          {"model_name", m.model_name},
          {"config_json", m.config_json},
          {"tokenizer_json", m.tokenizer_json},
          {"tokenizer_config_json", m.tokenizer_config_json},
          {"weights_requested", m.weights_requested},
          {"tensors", tensors},
          {"programs", {{"main", program_json(m.main)}, {"mtp", program_json(m.mtp)}}},
          {"rope", {{"freqs", m.rope_freqs}, {"magnitude", m.rope_magnitude}}},
          {"memory",
           {{"max_context", mp.max_context}, {"prefill_chunk", mp.prefill_chunk}, {"kv_layers", mp.kv_layers},
            {"kv_width", mp.kv_width}, {"arena_bytes", mp.arena_bytes}, {"mtp_arena_bytes", mp.mtp_arena_bytes},
            {"weight_bytes", mp.weight_bytes}}}};
}

Result<Manifest> manifest_from_json(const Json& j) {
  Manifest m;
  const std::string at = "manifest";
  R1VK_ASSIGN_OR_RETURN(m.model_name, jf::get_string(j, "model_name", at));
  R1VK_ASSIGN_OR_RETURN(m.config_json, jf::get_string(j, "config_json", at));
  R1VK_ASSIGN_OR_RETURN(m.tokenizer_json, jf::get_string(j, "tokenizer_json", at));
  R1VK_ASSIGN_OR_RETURN(m.tokenizer_config_json, jf::get_string(j, "tokenizer_config_json", at));
  R1VK_ASSIGN_OR_RETURN(m.weights_requested, jf::get_string(j, "weights_requested", at));
  R1VK_ASSIGN_OR_RETURN(const Json* tensors, jf::get_array(j, "tensors", at));
  for (size_t i = 0; i < tensors->size(); ++i) {
    const Json& t = (*tensors)[i];
    const std::string tat = at + ".tensors[" + std::to_string(i) + "]";
    TensorEntry e;
    R1VK_ASSIGN_OR_RETURN(e.name, jf::get_string(t, "name", tat));
    R1VK_ASSIGN_OR_RETURN(std::string format, jf::get_string(t, "format", tat));
    auto f = parse_weight_format(format);
    if (!f.ok()) return make_error(ErrorCode::kCorruptData, tat + ": " + f.error().message());
    e.format = *f;
    R1VK_ASSIGN_OR_RETURN(e.rows, jf::get_i64(t, "rows", tat));
    R1VK_ASSIGN_OR_RETURN(e.cols, jf::get_i64(t, "cols", tat));
    R1VK_ASSIGN_OR_RETURN(e.group, jf::get_i64(t, "group", tat));
    R1VK_ASSIGN_OR_RETURN(e.data, blob_from(t, "data", tat));
    R1VK_ASSIGN_OR_RETURN(e.scales, blob_from(t, "scales", tat));
    R1VK_ASSIGN_OR_RETURN(e.quant_nmse, jf::get_f64(t, "quant_nmse", tat));
    m.tensors.push_back(std::move(e));
  }
  R1VK_ASSIGN_OR_RETURN(const Json* programs, jf::get_object(j, "programs", at));
  R1VK_ASSIGN_OR_RETURN(const Json* main, jf::get_object(*programs, "main", at + ".programs"));
  R1VK_ASSIGN_OR_RETURN(m.main, program_from(*main, at + ".programs.main"));
  R1VK_ASSIGN_OR_RETURN(const Json* mtp, jf::get_object(*programs, "mtp", at + ".programs"));
  R1VK_ASSIGN_OR_RETURN(m.mtp, program_from(*mtp, at + ".programs.mtp"));
  R1VK_ASSIGN_OR_RETURN(const Json* rope, jf::get_object(j, "rope", at));
  R1VK_ASSIGN_OR_RETURN(const Json* freqs, jf::get_array(*rope, "freqs", at + ".rope"));
  for (const Json& f : *freqs) {
    if (!f.is_number()) return make_error(ErrorCode::kCorruptData, at + ".rope.freqs: expected numbers");
    m.rope_freqs.push_back(f.get<double>());
  }
  R1VK_ASSIGN_OR_RETURN(m.rope_magnitude, jf::get_f64(*rope, "magnitude", at + ".rope"));
  R1VK_ASSIGN_OR_RETURN(const Json* mem, jf::get_object(j, "memory", at));
  const std::string mat = at + ".memory";
  MemoryPlan& mp = m.memory;
  R1VK_ASSIGN_OR_RETURN(mp.max_context, jf::get_i64(*mem, "max_context", mat));
  R1VK_ASSIGN_OR_RETURN(mp.prefill_chunk, jf::get_i64(*mem, "prefill_chunk", mat));
  R1VK_ASSIGN_OR_RETURN(mp.kv_layers, jf::get_i64(*mem, "kv_layers", mat));
  R1VK_ASSIGN_OR_RETURN(mp.kv_width, jf::get_i64(*mem, "kv_width", mat));
  R1VK_ASSIGN_OR_RETURN(mp.arena_bytes, jf::get_u64(*mem, "arena_bytes", mat));
  R1VK_ASSIGN_OR_RETURN(mp.mtp_arena_bytes, jf::get_u64(*mem, "mtp_arena_bytes", mat));
  R1VK_ASSIGN_OR_RETURN(mp.weight_bytes, jf::get_u64(*mem, "weight_bytes", mat));
  R1VK_TRY(validate_manifest(m));
  return m;
}

Status validate_manifest(const Manifest& m) {
  const MemoryPlan& mp = m.memory;
  constexpr int64_t kMaxContext = int64_t{1} << 24;
  if (mp.max_context <= 0 || mp.max_context > kMaxContext) return make_error(ErrorCode::kCorruptData, "manifest.memory.max_context is invalid");
  if (mp.prefill_chunk <= 0 || mp.prefill_chunk > mp.max_context) return make_error(ErrorCode::kCorruptData, "manifest.memory.prefill_chunk is invalid");
  if (mp.kv_layers <= 0 || mp.kv_layers > 4096 || mp.kv_width <= 0 || mp.kv_width > (int64_t{1} << 20)) {
    return make_error(ErrorCode::kCorruptData, "manifest.memory KV cache shape is invalid");
  }
  for (size_t i = 0; i < m.tensors.size(); ++i) {
    const TensorEntry& t = m.tensors[i];
    const std::string at = "manifest.tensors[" + std::to_string(i) + "] (" + t.name + ")";
    auto data = packed_data_bytes(t.format, t.rows, t.cols, t.group);
    if (!data.ok()) return std::move(data).error().with_context(at);
    auto scales = packed_scale_bytes(t.format, t.rows, t.cols, t.group);
    if (!scales.ok()) return std::move(scales).error().with_context(at);
    if (!(t.quant_nmse >= 0.0) || !std::isfinite(t.quant_nmse)) {
      return make_error(ErrorCode::kCorruptData, at + ": quant_nmse must be a finite number >= 0");
    }
    if (t.data.size != *data || t.scales.size != *scales) {
      return make_error(ErrorCode::kCorruptData, at + ": blob sizes do not match a " + weight_format_name(t.format) + " [" +
                                                     std::to_string(t.rows) + ", " + std::to_string(t.cols) + "] tensor");
    }
  }
  if (m.main.ops.empty()) return make_error(ErrorCode::kCorruptData, "manifest.programs.main has no ops");
  R1VK_TRY(validate_program(m.main, m.tensors.size(), mp.arena_bytes, mp.prefill_chunk, "manifest.programs.main"));
  R1VK_TRY(validate_program(m.mtp, m.tensors.size(), mp.mtp_arena_bytes, mp.prefill_chunk, "manifest.programs.mtp"));
  // The MTP program has KV cache layers of its own (after the main model's): one that stored
  // into a main layer would overwrite the main model's cache rows whenever it drafts.
  std::set<int64_t> main_layers;
  for (const Op& o : m.main.ops)
    if (auto it = o.ints.find("layer"); it != o.ints.end()) main_layers.insert(it->second);
  for (size_t i = 0; i < m.mtp.ops.size(); ++i) {
    const Op& o = m.mtp.ops[i];
    if (auto it = o.ints.find("layer"); it != o.ints.end() && main_layers.count(it->second)) {
      return make_error(ErrorCode::kCorruptData, "manifest.programs.mtp.ops[" + std::to_string(i) + "] (" + o.label +
                                                     ") uses KV cache layer " + std::to_string(it->second) +
                                                     ", which the main program uses");
    }
  }
  return ok_status();
}

}  // namespace r1vk::plan
