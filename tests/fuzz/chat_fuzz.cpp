// Fuzz target: chat messages through the R1 chat template and back out through the streaming
// path a reply takes (stream decoder -> reasoning parser -> stop strings). The first byte holds
// flags (which tokenizer: the demo model's or DeepSeek-R1's; add_generation_prompt); the rest is
// messages separated by fuzz::kPartSeparator, each "role\ncontent". Roles go through
// parse_chat_role as the C API's do; a "stop" role adds a stop string instead of a message.
#include <cstdlib>
#include <memory>
#include <string>
#include <vector>

#include "fuzz_support.h"
#include "text/chat_format.h"
#include "text/reasoning_parser.h"
#include "text/stop_matcher.h"
#include "text/stream_decoder.h"

namespace {

using namespace r1vk::text;

struct ChatTokenizer {
  std::unique_ptr<Tokenizer> tokenizer;
  std::unique_ptr<R1ChatFormat> format;
};
ChatTokenizer g_chat[2];

ChatTokenizer load(const std::string& dir) {
  auto tok = Tokenizer::from_directory(dir);
  if (!tok.ok()) r1vk::fuzz::fail("cannot load tokenizer " + dir + ": " + tok.error().message());
  ChatTokenizer c;
  c.tokenizer = std::make_unique<Tokenizer>(std::move(tok).value());
  auto format = R1ChatFormat::from_tokenizer(*c.tokenizer);
  if (!format.ok()) r1vk::fuzz::fail(dir + ": " + format.error().message());
  c.format = std::make_unique<R1ChatFormat>(std::move(format).value());
  return c;
}

std::string env_or(const char* name, const char* fallback) {
  const char* v = std::getenv(name);
  return v && *v ? v : fallback;
}

std::string joined(const std::vector<TextPiece>& pieces) {
  std::string s;
  for (const TextPiece& p : pieces) s += p.text;
  return s;
}

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  g_chat[0] = load(R1VK_FUZZ_DEMO_MODEL_DIR);
  g_chat[1] = load(env_or("R1VK_TOKENIZER_DATA", R1VK_FUZZ_TOKENIZER_DIR) + "/deepseek_r1");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace r1vk;
  if (size == 0) return 0;
  const ChatTokenizer& chat = g_chat[data[0] & 1];
  const bool generation_prompt = (data[0] & 2) != 0;
  const auto parts = fuzz::split_parts(data + 1, size - 1, 64);

  std::vector<ChatMessage> messages;
  std::vector<std::string> stops;
  for (std::string_view part : parts) {
    const size_t nl = part.find('\n');
    const std::string_view role = part.substr(0, nl);
    const std::string_view content = nl == std::string_view::npos ? std::string_view() : part.substr(nl + 1);
    if (role == "stop") {
      stops.emplace_back(content);
      continue;
    }
    auto parsed = parse_chat_role(role);
    if (!parsed.ok()) continue;  // the C API rejects the call; nothing to render
    messages.push_back({*parsed, std::string(content)});
  }

  const std::string prompt = chat.format->render(messages, generation_prompt);
  auto ids = chat.format->encode(messages, generation_prompt);
  if (!ids.ok()) return 0;  // invalid UTF-8 in a message
  fuzz::check(!ids->empty() && (*ids)[0] == *chat.tokenizer->bos_id(), "a chat prompt starts with BOS");

  // The prompt's ids stand in for a model's reply.
  StreamDecoder stream(*chat.tokenizer, /*show_special=*/false);
  ReasoningParser reasoning(generation_prompt);
  StopMatcher stop(stops);
  std::string fed, released;
  bool answered = false;
  auto take = [&](const std::vector<TextPiece>& pieces) {
    fed += joined(pieces);
    for (const TextPiece& p : pieces) {
      if (p.kind == TextKind::kAnswer) answered = true;
      fuzz::check(!(answered && p.kind == TextKind::kReasoning), "no reasoning after the answer began");
    }
    released += joined(stop.feed(pieces));
  };
  for (TokenId id : *ids) {
    auto piece = stream.push(id);
    fuzz::check(piece.ok(), "stream decoding of prompt ids succeeds");
    take(reasoning.feed(*piece));
  }
  take(reasoning.feed(stream.finish()));
  take(reasoning.finish());
  released += joined(stop.finish());

  fuzz::check(fed.compare(0, released.size(), released) == 0, "stop strings release a prefix of the text");
  if (!stop.matched()) {
    fuzz::check(released == fed, "without a stop match every byte is released");
  } else {
    bool found = false;
    for (const std::string& s : stops) {
      if (!s.empty() && fed.compare(released.size(), s.size(), s) == 0) found = true;
    }
    fuzz::check(found, "a stop match begins where the released text ends");
  }
  return 0;
}
