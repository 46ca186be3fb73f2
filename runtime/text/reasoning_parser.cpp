#include "text/reasoning_parser.h"

#include <algorithm>

namespace r1vk::text {
namespace {

constexpr std::string_view kOpen = "<think>";
constexpr std::string_view kClose = "</think>";

bool is_space(char c) { return c == ' ' || c == '\n' || c == '\r' || c == '\t'; }

// Length of the longest suffix of `text` that is a proper prefix of `tag`.
size_t partial_tag_suffix(std::string_view text, std::string_view tag) {
  for (size_t n = std::min(text.size(), tag.size() - 1); n > 0; --n) {
    if (text.substr(text.size() - n) == tag.substr(0, n)) return n;
  }
  return 0;
}

}  // namespace

void ReasoningParser::emit(std::vector<TextPiece>& out, TextKind kind, std::string_view text) {
  if (text.empty()) return;
  if (!out.empty() && out.back().kind == kind) out.back().text += text;
  else out.push_back({kind, std::string(text)});
}

std::vector<TextPiece> ReasoningParser::feed(std::string_view chunk) {
  std::vector<TextPiece> out;
  held_ += chunk;
  if (state_ == State::kStart) {
    size_t lead = 0;
    while (lead < held_.size() && is_space(held_[lead])) ++lead;
    const std::string_view rest = std::string_view(held_).substr(lead);
    if (rest.size() >= kOpen.size() && rest.substr(0, kOpen.size()) == kOpen) {
      held_.erase(0, lead + kOpen.size());  // the model opened its reasoning itself
      state_ = State::kReasoning;
    } else if (kOpen.substr(0, rest.size()) == rest) {
      return out;  // still could become "<think>": wait for more
    } else {
      state_ = State::kAnswer;  // no reasoning block in this reply
    }
  }
  if (state_ == State::kReasoning) {
    const size_t close = held_.find(kClose);
    if (close == std::string::npos) {
      const size_t keep = partial_tag_suffix(held_, kClose);
      emit(out, TextKind::kReasoning, std::string_view(held_).substr(0, held_.size() - keep));
      held_.erase(0, held_.size() - keep);
      return out;
    }
    emit(out, TextKind::kReasoning, std::string_view(held_).substr(0, close));
    held_.erase(0, close + kClose.size());
    state_ = State::kAnswer;
  }
  emit(out, TextKind::kAnswer, held_);
  held_.clear();
  return out;
}

std::vector<TextPiece> ReasoningParser::finish() {
  std::vector<TextPiece> out;
  emit(out, state_ == State::kReasoning ? TextKind::kReasoning : TextKind::kAnswer, held_);
  held_.clear();
  return out;
}

}  // namespace r1vk::text
