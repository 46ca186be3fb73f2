// Reads the body of POST /v1/chat/completions and /v1/completions into a typed request,
// refusing malformed JSON, wrong types and out-of-range values with an OpenAI-shaped error that
// names the field. Unknown fields are ignored, as OpenAI-compatible servers do.
#pragma once

#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "serve/http/api_error.h"
#include "text/chat_format.h"

namespace r1vk::serve::http {

struct SamplingDefaults {
  double temperature = 0.6;  // DeepSeek's advice for R1
  double top_p = 0.95;
};

struct RequestLimits {
  int64_t max_tokens_cap = 4096;  // the most max_tokens a client may ask for
  size_t max_stop_strings = 4;
  size_t max_messages = 1024;
  int max_json_depth = 32;
};

struct CompletionRequest {
  bool chat = true;
  std::string model;                          // empty: not given
  std::vector<text::ChatMessage> messages;    // chat
  std::string prompt;                         // completions
  bool stream = false;
  bool include_usage = false;                 // stream_options.include_usage
  double temperature = 0.6;
  double top_p = 0.95;
  uint32_t top_k = 0;
  std::optional<uint32_t> seed;              // not given: each request draws its own
  std::optional<int64_t> max_tokens;          // max_completion_tokens, else max_tokens
  std::vector<std::string> stop;
};

// `chat` selects the chat-completions schema, otherwise the completions one.
std::variant<CompletionRequest, ApiError> parse_completion_request(std::string_view body, bool chat, const SamplingDefaults& defaults,
                                                                   const RequestLimits& limits);

// Nesting depth of JSON text (brackets outside strings), computed without parsing, so that a
// hostile body cannot make a parser recurse deeply.
int json_nesting_depth(std::string_view body);

}  // namespace r1vk::serve::http
