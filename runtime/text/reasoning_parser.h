// Separates a streamed R1 reply into reasoning and answer: the reasoning runs up to "</think>",
// the answer follows it. The opening "<think>" is either already in the prompt (R1's current
// template) or the first thing the model writes (leading whitespace allowed). Tags may arrive
// split across chunks: a chunk ending in a possible tag prefix is held back until it resolves.
// The tags themselves are dropped from both parts.
#pragma once

#include <string>
#include <string_view>
#include <vector>

namespace r1vk::text {

enum class TextKind { kReasoning, kAnswer };

struct TextPiece {
  TextKind kind;
  std::string text;
};

class ReasoningParser {
 public:
  // `prompt_opened_think`: the prompt ended with "<think>", so the reply starts in reasoning.
  explicit ReasoningParser(bool prompt_opened_think)
      : state_(prompt_opened_think ? State::kReasoning : State::kStart) {}

  // Consumes the next decoded chunk; returns the pieces it completed (adjacent pieces of one
  // kind are merged).
  std::vector<TextPiece> feed(std::string_view chunk);
  // Ends the reply: held-back text comes out as what it was being read as.
  std::vector<TextPiece> finish();

  bool in_reasoning() const { return state_ == State::kReasoning; }

 private:
  enum class State { kStart, kReasoning, kAnswer };
  void emit(std::vector<TextPiece>& out, TextKind kind, std::string_view text);

  State state_;
  std::string held_;
};

}  // namespace r1vk::text
