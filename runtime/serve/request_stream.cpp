#include "serve/request_stream.h"

namespace r1vk::serve {

const char* finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    case FinishReason::kCancelled: return "cancelled";
    case FinishReason::kError: return "error";
  }
  return "unknown";
}

void RequestStream::append(const std::vector<text::TextPiece>& pieces) {
  if (pieces.empty()) return;
  {
    std::lock_guard lock(mutex_);
    for (const auto& p : pieces) {
      if (!pending_.empty() && pending_.back().kind == p.kind) {
        pending_.back().text += p.text;
      } else {
        pending_.push_back(p);
      }
    }
  }
  cv_.notify_all();
}

void RequestStream::finish(FinishInfo info) {
  {
    std::lock_guard lock(mutex_);
    if (!finish_) finish_ = std::move(info);
  }
  cv_.notify_all();
}

StreamUpdate RequestStream::take(std::chrono::milliseconds timeout) {
  std::unique_lock lock(mutex_);
  cv_.wait_for(lock, timeout, [&] { return !pending_.empty() || finish_.has_value(); });
  StreamUpdate u;
  u.pieces.swap(pending_);
  u.finish = finish_;
  return u;
}

}  // namespace r1vk::serve
