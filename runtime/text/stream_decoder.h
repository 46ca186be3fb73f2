// Token-by-token detokenization for generation: each push() returns the text that became
// complete, holding back the bytes of a UTF-8 character split across tokens until its last byte
// arrives. Bytes that can never complete become U+FFFD, so nothing is held forever.
// Clean-up of tokenization spaces is not applied: the stream is exactly what the model wrote.
#pragma once

#include <string>

#include "base/status.h"
#include "text/tokenizer.h"

namespace r1vk::text {

class StreamDecoder {
 public:
  // `tokenizer` must outlive the decoder. With show_special false, special tokens emit nothing.
  explicit StreamDecoder(const Tokenizer& tokenizer, bool show_special = false)
      : tokenizer_(&tokenizer), show_special_(show_special) {}

  // Adds one token; returns the newly completed text (possibly empty). An id the tokenizer does
  // not know (a model's vocabulary is often padded past the tokenizer's) yields "".
  Result<std::string> push(TokenId id);
  // Ends the stream: whatever is held back comes out, an unfinished character as U+FFFD.
  std::string finish();

  // Bytes held back waiting for the rest of a character (0..3).
  size_t pending_bytes() const { return pending_.size(); }

 private:
  const Tokenizer* tokenizer_;
  bool show_special_;
  std::string pending_;
};

}  // namespace r1vk::text
