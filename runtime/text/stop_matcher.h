// Stop strings over streamed text: finds the first occurrence of any stop string even when it
// arrives split across tokens, holding back only the tail that could still begin one. Text
// before the match is released; the match and whatever follows it are dropped.
#pragma once

#include <string>
#include <vector>

#include "text/reasoning_parser.h"

namespace r1vk::text {

class StopMatcher {
 public:
  // Empty strings are ignored.
  explicit StopMatcher(std::vector<std::string> stop_strings);

  // Adds pieces; returns the pieces that can no longer be part of a stop string.
  std::vector<TextPiece> feed(const std::vector<TextPiece>& pieces);
  // Everything still held back (the stream ended without a match).
  std::vector<TextPiece> finish();

  bool matched() const { return matched_; }
  bool active() const { return !stops_.empty(); }

 private:
  // Releases the first `bytes` bytes of held text, keeping each piece's kind.
  std::vector<TextPiece> release(size_t bytes);

  std::vector<std::string> stops_;
  std::vector<TextPiece> held_;
  std::string held_text_;
  bool matched_ = false;
};

}  // namespace r1vk::text
