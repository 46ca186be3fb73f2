#include "text/chat_format.h"

namespace r1vk::text {
namespace {

// The R1 family's role markers and reasoning tags (from its tokenizer's added tokens).
constexpr std::string_view kUserMarker = "<｜User｜>";
constexpr std::string_view kAssistantMarker = "<｜Assistant｜>";
constexpr std::string_view kThinkOpen = "<think>";
constexpr std::string_view kThinkClose = "</think>";

Result<TokenId> require_token(const Tokenizer& tokenizer, std::string_view content) {
  if (auto id = tokenizer.find_token(content)) return *id;
  return make_error(ErrorCode::kUnsupported, "chat format: the tokenizer has no \"" + std::string(content) +
                                                 "\" token; it is not an R1-family chat tokenizer");
}

}  // namespace

Result<ChatRole> parse_chat_role(std::string_view role) {
  if (role == "system") return ChatRole::kSystem;
  if (role == "user") return ChatRole::kUser;
  if (role == "assistant") return ChatRole::kAssistant;
  return make_error(ErrorCode::kInvalidArgument,
                    "chat: unknown role \"" + std::string(role) + "\" (expected system, user or assistant)");
}

std::string_view strip_reasoning(std::string_view content) {
  const size_t close = content.rfind(kThinkClose);
  return close == std::string_view::npos ? content : content.substr(close + kThinkClose.size());
}

Result<R1ChatFormat> R1ChatFormat::from_tokenizer(const Tokenizer& tokenizer) {
  R1ChatFormat f;
  f.tokenizer_ = &tokenizer;
  if (!tokenizer.bos_id()) return make_error(ErrorCode::kUnsupported, "chat format: the tokenizer has no BOS token");
  if (!tokenizer.eos_id()) return make_error(ErrorCode::kUnsupported, "chat format: the tokenizer has no EOS token");
  f.bos_ = std::string(tokenizer.token_bytes(*tokenizer.bos_id()));
  f.eos_id_ = *tokenizer.eos_id();
  f.eos_ = std::string(tokenizer.token_bytes(f.eos_id_));
  R1VK_TRY(require_token(tokenizer, kUserMarker));
  R1VK_TRY(require_token(tokenizer, kAssistantMarker));
  R1VK_TRY(require_token(tokenizer, kThinkOpen));
  R1VK_ASSIGN_OR_RETURN(f.think_end_id_, require_token(tokenizer, kThinkClose));
  f.user_ = kUserMarker;
  f.assistant_ = kAssistantMarker;
  f.think_open_ = std::string(kThinkOpen) + "\n";
  return f;
}

std::string R1ChatFormat::render(std::span<const ChatMessage> messages, bool add_generation_prompt) const {
  std::string out = bos_;
  bool first_system = true;
  for (const ChatMessage& m : messages) {
    if (m.role != ChatRole::kSystem) continue;
    if (!first_system) out += "\n\n";
    out += m.content;
    first_system = false;
  }
  for (const ChatMessage& m : messages) {
    if (m.role == ChatRole::kUser) {
      out += user_;
      out += m.content;
    } else if (m.role == ChatRole::kAssistant) {
      out += assistant_;
      out += strip_reasoning(m.content);
      out += eos_;
    }
  }
  if (add_generation_prompt) out += assistant_ + think_open_;
  return out;
}

Result<std::vector<TokenId>> R1ChatFormat::encode(std::span<const ChatMessage> messages,
                                                  bool add_generation_prompt) const {
  // Piece by piece, in render()'s order: the template's markers with their tokens recognised,
  // every message's text as plain text, so that a marker typed into a message (a user writing
  // "<｜Assistant｜>" to fake a turn) stays text. For text without markers the ids equal those of
  // encoding render()'s string whole, since added tokens split the text at the same places.
  std::vector<TokenId> ids;
  auto append = [&](std::string_view piece, bool is_text) -> Status {
    EncodeOptions o;
    o.match_added_tokens = !is_text;
    auto part = tokenizer_->encode(piece, o);
    if (!part.ok()) return std::move(part).error().with_context("chat format");
    ids.insert(ids.end(), part->begin(), part->end());
    return ok_status();
  };
  R1VK_TRY(append(bos_, false));
  std::string system;
  bool first_system = true;
  for (const ChatMessage& m : messages) {
    if (m.role != ChatRole::kSystem) continue;
    if (!first_system) system += "\n\n";
    system += m.content;
    first_system = false;
  }
  R1VK_TRY(append(system, true));
  for (const ChatMessage& m : messages) {
    if (m.role == ChatRole::kUser) {
      R1VK_TRY(append(user_, false));
      R1VK_TRY(append(m.content, true));
    } else if (m.role == ChatRole::kAssistant) {
      R1VK_TRY(append(assistant_, false));
      R1VK_TRY(append(strip_reasoning(m.content), true));
      R1VK_TRY(append(eos_, false));
    }
  }
  if (add_generation_prompt) R1VK_TRY(append(assistant_ + think_open_, false));
  return ids;
}

}  // namespace r1vk::text
