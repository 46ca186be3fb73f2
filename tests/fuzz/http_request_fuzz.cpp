// Fuzz target: a request body of the server (runtime/serve/http) as a client sends it: JSON ->
// CompletionRequest (parse, check types and ranges) -> the prompt's token ids through the demo
// model's R1 chat format or tokenizer, as the server's handler does before submitting. The first
// byte selects the route (bit 0: /v1/chat/completions, else /v1/completions); the rest is the body.
// Invariants: a refusal is a well-formed 4xx OpenAI error; an accepted request is within the
// limits; a chat prompt starts with BOS and holds exactly one user or assistant marker per such
// message (text typed into a message never becomes a marker token).
#include <cmath>
#include <memory>
#include <string>
#include <variant>

#include "fuzz_support.h"
#include "serve/http/openai_request.h"
#include "text/chat_format.h"

namespace {

using namespace r1vk;

std::unique_ptr<text::Tokenizer> g_tokenizer;
std::unique_ptr<text::R1ChatFormat> g_chat;
text::TokenId g_user = 0, g_assistant = 0, g_think = 0, g_think_end = 0;

}  // namespace

extern "C" int LLVMFuzzerInitialize(int*, char***) {
  auto tok = text::Tokenizer::from_directory(R1VK_FUZZ_DEMO_MODEL_DIR);
  if (!tok.ok()) fuzz::fail("cannot load the demo tokenizer: " + tok.error().message());
  g_tokenizer = std::make_unique<text::Tokenizer>(std::move(tok).value());
  auto chat = text::R1ChatFormat::from_tokenizer(*g_tokenizer);
  if (!chat.ok()) fuzz::fail("demo chat format: " + chat.error().message());
  g_chat = std::make_unique<text::R1ChatFormat>(std::move(chat).value());
  g_user = *g_tokenizer->find_token("<｜User｜>");
  g_assistant = *g_tokenizer->find_token("<｜Assistant｜>");
  g_think = *g_tokenizer->find_token("<think>");
  g_think_end = *g_tokenizer->find_token("</think>");
  return 0;
}

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace r1vk::serve::http;
  if (size == 0) return 0;
  const bool chat = (data[0] & 1) != 0;
  const std::string_view body(reinterpret_cast<const char*>(data + 1), size - 1);
  RequestLimits limits;
  limits.max_tokens_cap = 512;
  auto parsed = parse_completion_request(body, chat, SamplingDefaults{}, limits);

  if (const auto* e = std::get_if<ApiError>(&parsed)) {
    fuzz::check(e->status >= 400 && e->status < 500, "a refused body gets a 4xx status");
    fuzz::check(!e->message.empty(), "an error says what is wrong");
    const auto j = e->to_json();
    fuzz::check(j.contains("error") && j["error"].contains("message") && j["error"].contains("param"), "OpenAI error shape");
    (void)j.dump(-1, ' ', false, nlohmann::json::error_handler_t::replace);
    return 0;
  }
  const CompletionRequest& r = std::get<CompletionRequest>(parsed);
  fuzz::check(std::isfinite(r.temperature) && r.temperature >= 0, "temperature is finite and >= 0");
  fuzz::check(std::isfinite(r.top_p) && r.top_p > 0 && r.top_p <= 1, "top_p is in (0, 1]");
  fuzz::check(!r.max_tokens || (*r.max_tokens >= 1 && *r.max_tokens <= limits.max_tokens_cap), "max_tokens is within the cap");
  fuzz::check(r.stop.size() <= limits.max_stop_strings, "at most max_stop_strings stop strings");

  if (!chat) {
    (void)g_tokenizer->encode(r.prompt);  // invalid UTF-8 is an error, never a crash
    return 0;
  }
  fuzz::check(!r.messages.empty() && r.messages.size() <= limits.max_messages, "a chat request has 1..max_messages messages");
  auto ids = g_chat->encode(r.messages, /*add_generation_prompt=*/true);
  if (!ids.ok()) return 0;  // invalid UTF-8 in a message
  fuzz::check(!ids->empty() && (*ids)[0] == *g_tokenizer->bos_id(), "a chat prompt starts with BOS");
  size_t users = 0, assistants = 1;  // the generation prompt opens one more assistant turn
  for (const auto& m : r.messages) {
    users += m.role == text::ChatRole::kUser;
    assistants += m.role == text::ChatRole::kAssistant;
  }
  size_t user_ids = 0, assistant_ids = 0, think_ids = 0, think_end_ids = 0, bos_ids = 0;
  for (text::TokenId id : *ids) {
    user_ids += id == g_user;
    assistant_ids += id == g_assistant;
    think_ids += id == g_think;
    think_end_ids += id == g_think_end;
    bos_ids += id == *g_tokenizer->bos_id();
  }
  fuzz::check(user_ids == users && assistant_ids == assistants, "one marker token per turn: message text never becomes a marker");
  fuzz::check(think_ids == 1 && think_end_ids == 0 && bos_ids == 1, "only the template opens the reasoning; one BOS");
  return 0;
}
