// tokenizer.json "pre_tokenizer": cuts normalised text into the words BPE encodes separately.
// Supported: Split (Regex or String pattern, all five behaviours, invert), ByteLevel (last step,
// optionally with the GPT-2 split regex) and Sequence. r1vk implements byte-level BPE only, so a
// ByteLevel step is required: since the runtime works on raw bytes, it needs no conversion.
#pragma once

#include <vector>

#include <nlohmann/json_fwd.hpp>

#include "base/status.h"
#include "text/regex.h"

namespace r1vk::text {

enum class SplitBehavior { kRemoved, kIsolated, kMergedWithPrevious, kMergedWithNext, kContiguous };

struct SplitStep {
  Regex pattern;
  SplitBehavior behavior = SplitBehavior::kIsolated;
  bool invert = false;
};

class PreTokenizer {
 public:
  // `spec` is the JSON value of "pre_tokenizer".
  static Result<PreTokenizer> from_json(const nlohmann::json& spec);

  // Replaces `pieces` (spans of `text`) by the words they split into. Text is valid UTF-8.
  Status split(std::string_view text, std::vector<Span>& pieces) const;

 private:
  Status add(const nlohmann::json& spec, const std::string& where, bool last, int depth);

  std::vector<SplitStep> steps_;
  bool byte_level_ = false;
};

}  // namespace r1vk::text
