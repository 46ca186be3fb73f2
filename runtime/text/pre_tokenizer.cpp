#include "text/pre_tokenizer.h"

#include <algorithm>

#include <nlohmann/json.hpp>

namespace r1vk::text {
namespace {

// GPT-2's word pattern, which ByteLevel applies when its use_regex is true.
constexpr const char* kGpt2Pattern =
    R"('s|'t|'re|'ve|'m|'ll|'d| ?\p{L}+| ?\p{N}+| ?[^\s\p{L}\p{N}]+|\s+(?!\S)|\s+)";

// Real files nest one Sequence; the bound keeps hostile input from exhausting the stack.
constexpr int kMaxNesting = 16;

Error corrupt(const std::string& where, const std::string& what) {
  return make_error(ErrorCode::kCorruptData, where + ": " + what);
}

Result<SplitBehavior> parse_behavior(const nlohmann::json& spec, const std::string& where) {
  if (!spec.contains("behavior") || !spec["behavior"].is_string()) {
    return corrupt(where, "Split needs a string \"behavior\"");
  }
  const std::string b = spec["behavior"].get<std::string>();
  if (b == "Removed") return SplitBehavior::kRemoved;
  if (b == "Isolated") return SplitBehavior::kIsolated;
  if (b == "MergedWithPrevious") return SplitBehavior::kMergedWithPrevious;
  if (b == "MergedWithNext") return SplitBehavior::kMergedWithNext;
  if (b == "Contiguous") return SplitBehavior::kContiguous;
  return make_error(ErrorCode::kUnsupported, where + ": unknown Split behavior \"" + b + "\"");
}

Result<Regex> parse_pattern(const nlohmann::json& spec, const std::string& where) {
  if (!spec.contains("pattern") || !spec["pattern"].is_object()) {
    return corrupt(where, "Split needs a \"pattern\" object");
  }
  const auto& p = spec["pattern"];
  if (p.contains("Regex") && p["Regex"].is_string()) {
    auto r = Regex::compile(p["Regex"].get<std::string>());
    if (!r.ok()) return std::move(r).error().with_context(where);
    return r;
  }
  if (p.contains("String") && p["String"].is_string()) return Regex::literal(p["String"].get<std::string>());
  return corrupt(where, "Split pattern needs a string \"Regex\" or \"String\"");
}

bool flag(const nlohmann::json& spec, const char* name) {
  return spec.contains(name) && spec[name].is_boolean() && spec[name].get<bool>();
}

struct Piece {
  Span span;
  bool is_match;
};

// Applies a Split behaviour to the pieces of one input span, as Hugging Face tokenizers does.
void apply_behavior(SplitBehavior behavior, const std::vector<Piece>& in, std::vector<Span>& out) {
  if (behavior == SplitBehavior::kIsolated) {  // the common case: no merging, no allocation
    for (const Piece& p : in) out.push_back(p.span);
    return;
  }
  std::vector<Span> acc;
  bool previous_match = false;
  switch (behavior) {
    case SplitBehavior::kIsolated:
      break;
    case SplitBehavior::kRemoved:
      for (const Piece& p : in) {
        if (!p.is_match) acc.push_back(p.span);
      }
      break;
    case SplitBehavior::kMergedWithPrevious:
      for (const Piece& p : in) {
        if (p.is_match && !previous_match && !acc.empty()) acc.back().end = p.span.end;
        else acc.push_back(p.span);
        previous_match = p.is_match;
      }
      break;
    case SplitBehavior::kMergedWithNext:
      for (auto it = in.rbegin(); it != in.rend(); ++it) {
        if (it->is_match && !previous_match && !acc.empty()) acc.back().begin = it->span.begin;
        else acc.push_back(it->span);
        previous_match = it->is_match;
      }
      std::reverse(acc.begin(), acc.end());
      break;
    case SplitBehavior::kContiguous:
      for (size_t i = 0; i < in.size(); ++i) {
        if (i > 0 && in[i].is_match == previous_match) acc.back().end = in[i].span.end;
        else acc.push_back(in[i].span);
        previous_match = in[i].is_match;
      }
      break;
  }
  for (const Span& s : acc) {
    if (s.end > s.begin) out.push_back(s);
  }
}

}  // namespace

Status PreTokenizer::add(const nlohmann::json& spec, const std::string& where, bool last, int depth) {
  if (depth > kMaxNesting) return corrupt(where, "Sequence nested too deeply");
  if (!spec.is_object() || !spec.contains("type") || !spec["type"].is_string()) {
    return corrupt(where, "expected an object with a string \"type\"");
  }
  const std::string type = spec["type"].get<std::string>();
  if (byte_level_) return make_error(ErrorCode::kUnsupported, where + ": steps after ByteLevel are not supported");
  if (type == "Sequence") {
    if (!spec.contains("pretokenizers") || !spec["pretokenizers"].is_array()) {
      return corrupt(where, "Sequence needs a \"pretokenizers\" array");
    }
    const auto& list = spec["pretokenizers"];
    for (size_t i = 0; i < list.size(); ++i) {
      R1VK_TRY(add(list[i], where + ".pretokenizers[" + std::to_string(i) + "]", last && i + 1 == list.size(),
                   depth + 1));
    }
    return ok_status();
  }
  if (type == "Split") {
    R1VK_ASSIGN_OR_RETURN(Regex pattern, parse_pattern(spec, where));
    R1VK_ASSIGN_OR_RETURN(SplitBehavior behavior, parse_behavior(spec, where));
    steps_.push_back({std::move(pattern), behavior, flag(spec, "invert")});
    return ok_status();
  }
  if (type == "ByteLevel") {
    if (!last) return make_error(ErrorCode::kUnsupported, where + ": ByteLevel must be the last pre-tokenizer");
    if (flag(spec, "add_prefix_space")) {
      return make_error(ErrorCode::kUnsupported, where + ": ByteLevel add_prefix_space=true is not supported");
    }
    if (flag(spec, "use_regex")) {
      R1VK_ASSIGN_OR_RETURN(Regex gpt2, Regex::compile(kGpt2Pattern));
      steps_.push_back({std::move(gpt2), SplitBehavior::kIsolated, false});
    }
    byte_level_ = true;
    return ok_status();
  }
  return make_error(ErrorCode::kUnsupported, where + ": unsupported pre-tokenizer type \"" + type + "\"");
}

Result<PreTokenizer> PreTokenizer::from_json(const nlohmann::json& spec) {
  PreTokenizer p;
  if (spec.is_null()) {
    return make_error(ErrorCode::kUnsupported, "pre_tokenizer: missing; r1vk supports byte-level BPE only");
  }
  R1VK_TRY(p.add(spec, "pre_tokenizer", true, 0));
  if (!p.byte_level_) {
    return make_error(ErrorCode::kUnsupported,
                      "pre_tokenizer: no ByteLevel step; r1vk supports byte-level BPE only");
  }
  return p;
}

Status PreTokenizer::split(std::string_view text, std::vector<Span>& pieces) const {
  std::vector<Span> next;
  std::vector<Span> matches;
  std::vector<Piece> marked;
  for (const SplitStep& step : steps_) {
    next.clear();
    for (const Span& piece : pieces) {
      matches.clear();
      R1VK_TRY(step.pattern.find_all(text, piece, matches));
      marked.clear();
      size_t prev = piece.begin;
      for (const Span& m : matches) {
        if (m.begin > prev) marked.push_back({{prev, m.begin}, step.invert});
        marked.push_back({m, !step.invert});
        prev = m.end;
      }
      if (prev < piece.end) marked.push_back({{prev, piece.end}, step.invert});
      apply_behavior(step.behavior, marked, next);
    }
    pieces.swap(next);
  }
  return ok_status();
}

}  // namespace r1vk::text
