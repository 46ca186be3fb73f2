// The channel between the engine thread and whoever waits on one request (the HTTP handler):
// the engine appends released text and finally a FinishInfo; the reader takes what has arrived.
// Cancelling is a flag the engine reads between steps. Thread-safe; shared by both sides.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "text/reasoning_parser.h"

namespace r1vk::serve {

enum class FinishReason {
  kStop,       // end of sentence or a stop string
  kLength,     // max_tokens, or the context is full
  kCancelled,  // the client went away, or the server is shutting down
  kError,      // the step failed (the message says why)
};
const char* finish_reason_name(FinishReason r);

struct FinishInfo {
  FinishReason reason = FinishReason::kStop;
  std::string error;  // kError only
  int64_t prompt_tokens = 0;
  int64_t completion_tokens = 0;
  int64_t reasoning_tokens = 0;  // completion tokens up to and including "</think>"
};

// What a reader took: the text released since its last take, and the finish once it came.
struct StreamUpdate {
  std::vector<text::TextPiece> pieces;
  std::optional<FinishInfo> finish;
};

class RequestStream {
 public:
  // Engine side.
  void append(const std::vector<text::TextPiece>& pieces);
  void finish(FinishInfo info);

  // Reader side: waits up to `timeout` for something new, then takes all of it (possibly
  // nothing). After the update carrying `finish`, later takes return it again with no pieces.
  StreamUpdate take(std::chrono::milliseconds timeout);

  // Either side: asks the engine to drop the request at its next step.
  void cancel() { cancelled_.store(true); }
  bool cancelled() const { return cancelled_.load(); }

 private:
  std::mutex mutex_;
  std::condition_variable cv_;
  std::vector<text::TextPiece> pending_;
  std::optional<FinishInfo> finish_;
  std::atomic<bool> cancelled_{false};
};

}  // namespace r1vk::serve
