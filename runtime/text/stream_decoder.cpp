#include "text/stream_decoder.h"

#include "text/utf8.h"

namespace r1vk::text {

Result<std::string> StreamDecoder::push(TokenId id) {
  // An id the tokenizer lacks (the padding rows of a model's vocabulary) stands for no text, as
  // in Hugging Face's decode; generation goes on.
  if (!tokenizer_->is_valid_id(id)) return std::string();
  if (tokenizer_->is_special(id) && !show_special_) return std::string();
  pending_ += tokenizer_->token_bytes(id);
  // Find where an unfinished (but so far valid) character starts at the end of the buffer.
  size_t complete = pending_.size();
  const size_t back = pending_.size() > 3 ? pending_.size() - 3 : 0;
  for (size_t start = pending_.size(); start-- > back;) {
    const auto b = static_cast<unsigned char>(pending_[start]);
    if ((b & 0xC0) == 0x80) continue;  // continuation byte: keep looking for the lead
    bool incomplete = false;
    if (utf8_sequence_length(pending_, start, &incomplete) == 0 && incomplete) complete = start;
    break;
  }
  std::string out;
  append_utf8_lossy(out, std::string_view(pending_).substr(0, complete));
  pending_.erase(0, complete);
  return out;
}

std::string StreamDecoder::finish() {
  std::string out;
  append_utf8_lossy(out, pending_);
  pending_.clear();
  return out;
}

}  // namespace r1vk::text
