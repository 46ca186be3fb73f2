#include "text/stop_matcher.h"

#include <algorithm>

namespace r1vk::text {

StopMatcher::StopMatcher(std::vector<std::string> stop_strings) {
  for (auto& s : stop_strings)
    if (!s.empty()) stops_.push_back(std::move(s));
}

std::vector<TextPiece> StopMatcher::release(size_t bytes) {
  std::vector<TextPiece> out;
  size_t left = bytes;
  size_t consumed = 0;
  for (auto& p : held_) {
    if (left == 0) break;
    const size_t n = std::min(left, p.text.size());
    if (n > 0) {
      if (!out.empty() && out.back().kind == p.kind) {
        out.back().text += p.text.substr(0, n);
      } else {
        out.push_back({p.kind, p.text.substr(0, n)});
      }
    }
    p.text.erase(0, n);
    left -= n;
    if (p.text.empty()) ++consumed;
  }
  held_.erase(held_.begin(), held_.begin() + static_cast<std::ptrdiff_t>(consumed));
  held_text_.erase(0, bytes);
  return out;
}

std::vector<TextPiece> StopMatcher::feed(const std::vector<TextPiece>& pieces) {
  if (matched_) return {};
  if (stops_.empty()) return pieces;
  for (const auto& p : pieces) {
    if (p.text.empty()) continue;
    held_.push_back(p);
    held_text_ += p.text;
  }
  // The earliest match wins: everything before it is released, the match and the rest dropped.
  size_t match = std::string::npos;
  for (const auto& s : stops_) match = std::min(match, held_text_.find(s));
  if (match != std::string::npos) {
    matched_ = true;
    auto out = release(match);
    held_.clear();
    held_text_.clear();
    return out;
  }
  // Hold back the longest tail that is a proper prefix of some stop string.
  size_t keep = 0;
  for (const auto& s : stops_) {
    const size_t most = std::min(s.size() - 1, held_text_.size());
    for (size_t k = most; k > keep; --k) {
      if (held_text_.compare(held_text_.size() - k, k, s, 0, k) == 0) {
        keep = k;
        break;
      }
    }
  }
  return release(held_text_.size() - keep);
}

std::vector<TextPiece> StopMatcher::finish() {
  if (matched_) return {};
  return release(held_text_.size());
}

}  // namespace r1vk::text
