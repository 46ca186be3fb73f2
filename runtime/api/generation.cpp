#include "api/generation.h"

#include <chrono>

#include "api/generation_options.h"

#include "text/stop_matcher.h"
#include "text/stream_decoder.h"

namespace r1vk::api {

const char* finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::kEndOfSentence: return "eos";
    case FinishReason::kLength: return "length";
    case FinishReason::kContextFull: return "context";
    case FinishReason::kCancelled: return "cancelled";
    case FinishReason::kStopString: return "stop";
    case FinishReason::kStopped: return "stopped";
  }
  return "unknown";
}

Result<GenerationStats> generate(exec::Session& session, const text::Tokenizer& tokenizer, std::span<const int32_t> prompt,
                                 text::TokenId end_of_sentence, const GenerationOptions& o,
                                 const std::function<void(const text::TextPiece&)>& on_piece, const std::atomic<bool>* cancel) {
  if (prompt.empty()) return make_error(ErrorCode::kInvalidArgument, "the prompt is empty");
  R1VK_TRY(validate_generation_options(o));  // before the feed, which already samples
  const auto t0 = std::chrono::steady_clock::now();
  R1VK_TRY(session.feed(prompt, o.sampling));
  const double prompt_seconds = std::chrono::duration<double>(std::chrono::steady_clock::now() - t0).count();
  R1VK_ASSIGN_OR_RETURN(GenerationStats stats, generate_after_feed(session, tokenizer, end_of_sentence, o, on_piece, cancel));
  stats.prompt_tokens = static_cast<int64_t>(prompt.size());
  stats.prompt_seconds = prompt_seconds;
  return stats;
}

Result<GenerationStats> generate_after_feed(exec::Session& session, const text::Tokenizer& tokenizer,
                                            text::TokenId end_of_sentence, const GenerationOptions& o,
                                            const std::function<void(const text::TextPiece&)>& on_piece,
                                            const std::atomic<bool>* cancel) {
  using clock = std::chrono::steady_clock;
  R1VK_TRY(validate_generation_options(o));
  GenerationStats stats;
  if (session.last_token() < 0) return make_error(ErrorCode::kInvalidArgument, "nothing was fed to the session: there is no token to continue from");
  const auto t1 = clock::now();

  text::StreamDecoder decoder(tokenizer, /*show_special=*/false);
  text::ReasoningParser parser(o.prompt_opened_think);
  text::StopMatcher stops(o.stop_strings);
  std::vector<text::TextPiece> released;  // what the current token released, for on_token
  auto emit = [&](const text::TextPiece& p) {
    (p.kind == text::TextKind::kReasoning ? stats.reasoning : stats.answer) += p.text;
    if (on_piece) on_piece(p);
    released.push_back(p);
  };
  auto deliver = [&](const std::vector<text::TextPiece>& pieces) {
    for (const auto& p : stops.feed(pieces)) emit(p);
  };
  auto push_text = [&](const std::string& s) {
    if (s.empty()) return;
    if (o.split_reasoning) {
      deliver(parser.feed(s));
    } else {
      deliver({{text::TextKind::kAnswer, s}});
    }
  };
  // Special tokens are hidden by the decoder, so "</think>" must be fed to the parser by id.
  const auto think_end = tokenizer.find_token("</think>");
  int32_t token = session.last_token();
  bool stop_matched = false;  // a stop string ended the text: what follows it is dropped
  while (true) {
    if (token == static_cast<int32_t>(end_of_sentence)) {
      stats.finish = FinishReason::kEndOfSentence;
      break;
    }
    ++stats.generated_tokens;
    released.clear();
    if (think_end && token == static_cast<int32_t>(*think_end)) {
      push_text(decoder.finish());
      push_text("</think>");
    } else {
      R1VK_ASSIGN_OR_RETURN(std::string piece, decoder.push(static_cast<text::TokenId>(token)));
      push_text(piece);
    }
    if (stops.matched()) {
      stats.finish = FinishReason::kStopString;
      stop_matched = true;
    }
    if (o.on_token && !o.on_token(token, released) && !stop_matched) {
      stats.finish = FinishReason::kStopped;
      break;
    }
    if (stop_matched) break;
    if (cancel && cancel->load()) {
      stats.finish = FinishReason::kCancelled;
      break;
    }
    if (stats.generated_tokens >= o.max_tokens) {
      stats.finish = FinishReason::kLength;
      break;
    }
    if (session.position() >= session.context_length()) {
      stats.finish = FinishReason::kContextFull;
      break;
    }
    R1VK_ASSIGN_OR_RETURN(token, session.step(o.sampling));
  }
  if (!stop_matched) {
    released.clear();
    push_text(decoder.finish());
    if (o.split_reasoning) deliver(parser.finish());
    if (!stops.matched()) {
      for (const auto& p : stops.finish()) emit(p);
    } else {
      stats.finish = FinishReason::kStopString;
    }
    if (o.on_token && !released.empty()) (void)o.on_token(-1, released);
  }
  stats.generation_seconds = std::chrono::duration<double>(clock::now() - t1).count();
  return stats;
}

}  // namespace r1vk::api
