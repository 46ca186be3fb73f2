#include "serve/output_text.h"

namespace r1vk::serve {

OutputText::OutputText(const text::Tokenizer& tokenizer, text::TokenId end_of_sentence, const OutputTextOptions& o)
    : eos_(end_of_sentence),
      think_end_(tokenizer.find_token("</think>")),
      split_reasoning_(o.split_reasoning),
      decoder_(tokenizer, /*show_special=*/false),
      parser_(o.prompt_opened_think),
      stops_(o.stop_strings) {}

void OutputText::push_text(const std::string& s, std::vector<text::TextPiece>& out) {
  if (s.empty()) return;
  std::vector<text::TextPiece> parsed;
  if (split_reasoning_) {
    parsed = parser_.feed(s);
  } else {
    parsed.push_back({text::TextKind::kAnswer, s});
  }
  for (auto& p : stops_.feed(parsed)) out.push_back(std::move(p));
}

Result<OutputText::Update> OutputText::push(int32_t token) {
  Update u;
  if (finished_) {
    u.done = true;
    return u;
  }
  if (token == static_cast<int32_t>(eos_)) {
    u.done = true;
    return u;
  }
  u.reasoning_token = split_reasoning_ && parser_.in_reasoning();
  // Special tokens are hidden by the decoder, so "</think>" reaches the parser by id.
  if (split_reasoning_ && think_end_ && token == static_cast<int32_t>(*think_end_)) {
    push_text(decoder_.finish(), u.pieces);
    push_text("</think>", u.pieces);
  } else {
    R1VK_ASSIGN_OR_RETURN(std::string piece, decoder_.push(static_cast<text::TokenId>(token)));
    push_text(piece, u.pieces);
  }
  if (stops_.matched()) {
    finished_ = true;
    u.done = true;
  }
  return u;
}

std::vector<text::TextPiece> OutputText::finish() {
  std::vector<text::TextPiece> out;
  if (finished_) return out;  // a stop string matched: what follows it is dropped
  finished_ = true;
  push_text(decoder_.finish(), out);
  if (split_reasoning_) {
    for (auto& p : stops_.feed(parser_.finish())) out.push_back(std::move(p));
  }
  if (!stops_.matched()) {
    for (auto& p : stops_.finish()) out.push_back(std::move(p));
  }
  return out;
}

}  // namespace r1vk::serve
