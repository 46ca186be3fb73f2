// Text generation on a session: feeds a prompt, samples on the device until end of sentence,
// the token limit, the context end or a cancel, and streams the decoded text split into
// reasoning and answer. Shared by `r1vk run`, `r1vk chat` and the C API.
#pragma once

#include <atomic>
#include <cstdint>
#include <functional>
#include <span>
#include <string>
#include <vector>

#include "base/status.h"
#include "exec/session.h"
#include "text/reasoning_parser.h"
#include "text/tokenizer.h"

namespace r1vk::api {

struct GenerationOptions {
  exec::Sampling sampling;
  int64_t max_tokens = 2048;
  bool prompt_opened_think = true;  // the prompt ends with "<think>\n": the reply starts in reasoning
  bool split_reasoning = true;      // false: every piece is answer text (raw mode)
  // Generation ends at the first of these in the text (matched across token boundaries); the
  // stop string and anything after it are not delivered.
  std::vector<std::string> stop_strings;
  // Optional: called after every generated token with the text that token released (possibly
  // none: text is held back while it could still be a stop string or an unfinished character).
  // Returning false ends generation (FinishReason::kStopped). Text released after the last
  // token (the final flush) comes with token -1.
  std::function<bool(int32_t token, const std::vector<text::TextPiece>& released)> on_token;
};

enum class FinishReason { kEndOfSentence, kLength, kContextFull, kCancelled, kStopString, kStopped };
const char* finish_reason_name(FinishReason r);

struct GenerationStats {
  int64_t prompt_tokens = 0;
  int64_t generated_tokens = 0;
  double prompt_seconds = 0.0;
  double generation_seconds = 0.0;
  FinishReason finish = FinishReason::kEndOfSentence;
  std::string reasoning;  // the whole reasoning text
  std::string answer;     // the whole answer text
};

// `on_piece` receives text as soon as it is complete UTF-8; `cancel` (optional) is polled
// between tokens, from any thread. Options failing validate_generation_options
// (generation_options.h) are refused before anything runs.
Result<GenerationStats> generate(exec::Session& session, const text::Tokenizer& tokenizer, std::span<const int32_t> prompt,
                                 text::TokenId end_of_sentence, const GenerationOptions& options,
                                 const std::function<void(const text::TextPiece&)>& on_piece,
                                 const std::atomic<bool>* cancel = nullptr);

// The same, continuing from a prompt already fed: the session's last_token() is the first token
// of the reply (Session::feed samples it). Used by the C API, whose callers feed separately.
Result<GenerationStats> generate_after_feed(exec::Session& session, const text::Tokenizer& tokenizer,
                                            text::TokenId end_of_sentence, const GenerationOptions& options,
                                            const std::function<void(const text::TextPiece&)>& on_piece,
                                            const std::atomic<bool>* cancel = nullptr);

}  // namespace r1vk::api
