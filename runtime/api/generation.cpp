#include "api/generation.h"

#include <chrono>

#include "text/stream_decoder.h"

namespace r1vk::api {

const char* finish_reason_name(FinishReason r) {
  switch (r) {
    case FinishReason::kEndOfSentence: return "eos";
    case FinishReason::kLength: return "length";
    case FinishReason::kContextFull: return "context";
    case FinishReason::kCancelled: return "cancelled";
  }
  return "unknown";
}

Result<GenerationStats> generate(exec::Session& session, const text::Tokenizer& tokenizer, std::span<const int32_t> prompt,
                                 text::TokenId end_of_sentence, const GenerationOptions& o,
                                 const std::function<void(const text::TextPiece&)>& on_piece, const std::atomic<bool>* cancel) {
  using clock = std::chrono::steady_clock;
  GenerationStats stats;
  stats.prompt_tokens = static_cast<int64_t>(prompt.size());
  if (prompt.empty()) return make_error(ErrorCode::kInvalidArgument, "the prompt is empty");
  const auto t0 = clock::now();
  R1VK_TRY(session.feed(prompt, o.sampling));
  const auto t1 = clock::now();
  stats.prompt_seconds = std::chrono::duration<double>(t1 - t0).count();

  text::StreamDecoder decoder(tokenizer, /*show_special=*/false);
  text::ReasoningParser parser(o.prompt_opened_think);
  auto deliver = [&](const std::vector<text::TextPiece>& pieces) {
    for (const auto& p : pieces) {
      (p.kind == text::TextKind::kReasoning ? stats.reasoning : stats.answer) += p.text;
      if (on_piece) on_piece(p);
    }
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
  while (true) {
    if (token == static_cast<int32_t>(end_of_sentence)) {
      stats.finish = FinishReason::kEndOfSentence;
      break;
    }
    ++stats.generated_tokens;
    if (think_end && token == static_cast<int32_t>(*think_end)) {
      push_text(decoder.finish());
      push_text("</think>");
    } else {
      R1VK_ASSIGN_OR_RETURN(std::string piece, decoder.push(static_cast<text::TokenId>(token)));
      push_text(piece);
    }
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
  push_text(decoder.finish());
  if (o.split_reasoning) deliver(parser.finish());
  stats.generation_seconds = std::chrono::duration<double>(clock::now() - t1).count();
  return stats;
}

}  // namespace r1vk::api
