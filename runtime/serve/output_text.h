// One sequence's generated tokens turned into text as they arrive: detokenized (UTF-8 held back
// until complete), split into reasoning and answer at "</think>", cut at the first stop string.
// The same rules as api::generate_after_feed (r1vk run), one token at a time for the engine.
#pragma once

#include <string>
#include <vector>

#include "base/status.h"
#include "text/reasoning_parser.h"
#include "text/stop_matcher.h"
#include "text/stream_decoder.h"
#include "text/tokenizer.h"

namespace r1vk::serve {

struct OutputTextOptions {
  bool prompt_opened_think = true;  // chat: the prompt ends with "<think>\n"
  bool split_reasoning = true;      // false: every piece is answer text (raw completions)
  std::vector<std::string> stop_strings;
};

class OutputText {
 public:
  // `tokenizer` must outlive this object.
  OutputText(const text::Tokenizer& tokenizer, text::TokenId end_of_sentence, const OutputTextOptions& options);

  struct Update {
    std::vector<text::TextPiece> pieces;  // text this token released (possibly none)
    bool done = false;                    // end of sentence or a stop string: generation ends here
    bool reasoning_token = false;         // the token belongs to the reasoning (counted in usage)
  };
  // Takes the next generated token. An end-of-sentence token ends the text without adding to it.
  Result<Update> push(int32_t token);
  // Ends the text (length limit, end of sentence): whatever is held back comes out.
  std::vector<text::TextPiece> finish();

  bool stop_matched() const { return stops_.matched(); }

 private:
  void push_text(const std::string& s, std::vector<text::TextPiece>& out);

  text::TokenId eos_;
  std::optional<text::TokenId> think_end_;
  bool split_reasoning_;
  text::StreamDecoder decoder_;
  text::ReasoningParser parser_;
  text::StopMatcher stops_;
  bool finished_ = false;
};

}  // namespace r1vk::serve
