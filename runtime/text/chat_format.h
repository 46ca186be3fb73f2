// The DeepSeek-R1 chat format (MODEL_SPEC.md section 4), as R1's chat template renders it:
//   BOS + system texts (joined by "\n\n") + for each turn "<｜User｜>" + text, or
//   "<｜Assistant｜>" + answer + EOS, where a past answer keeps only the text after its last
//   "</think>"; the generation prompt is "<｜Assistant｜><think>\n".
// Every special string and id is looked up in the tokenizer, never assumed per model.
#pragma once

#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "base/status.h"
#include "text/tokenizer.h"

namespace r1vk::text {

enum class ChatRole { kSystem, kUser, kAssistant };

// "system", "user" or "assistant"; anything else is an error.
Result<ChatRole> parse_chat_role(std::string_view role);

struct ChatMessage {
  ChatRole role = ChatRole::kUser;
  std::string content;
};

// Text of an assistant turn as later turns see it: only what follows the last "</think>".
std::string_view strip_reasoning(std::string_view content);

class R1ChatFormat {
 public:
  // Fails when the tokenizer lacks a token of the R1 format (e.g. a Qwen or Llama base tokenizer).
  // The tokenizer must outlive the format.
  static Result<R1ChatFormat> from_tokenizer(const Tokenizer& tokenizer);

  // The prompt text; with add_generation_prompt it ends by opening the assistant's reasoning.
  std::string render(std::span<const ChatMessage> messages, bool add_generation_prompt) const;
  // The prompt's token ids: render()'s text, with the template's markers as their tokens and each
  // message's content encoded as plain text (a marker inside a message stays text).
  Result<std::vector<TokenId>> encode(std::span<const ChatMessage> messages, bool add_generation_prompt) const;

  TokenId eos_id() const { return eos_id_; }
  TokenId think_end_id() const { return think_end_id_; }

 private:
  const Tokenizer* tokenizer_ = nullptr;
  std::string bos_, user_, assistant_, eos_, think_open_;
  TokenId eos_id_ = 0;
  TokenId think_end_id_ = 0;
};

}  // namespace r1vk::text
