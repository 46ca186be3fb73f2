// The JSON the OpenAI API answers with: whole completions, streamed chunks (one Server-Sent
// Event each) and usage, for chat completions and text completions. Reasoning goes in
// `reasoning_content` (DeepSeek's API) and, the same text, in `reasoning` (newer vLLM).
#pragma once

#include <cstdint>
#include <optional>
#include <string>

#include <nlohmann/json.hpp>

#include "serve/request_stream.h"

namespace r1vk::serve::http {

struct ResponseIds {
  std::string id;     // "chatcmpl-..." or "cmpl-..."
  int64_t created = 0;  // Unix seconds
  std::string model;
};

// "stop" or "length"; nullopt for a request that did not finish normally.
std::optional<std::string> openai_finish_reason(FinishReason r);

nlohmann::json usage_json(const FinishInfo& f);

nlohmann::json chat_completion(const ResponseIds& ids, const std::string& reasoning, const std::string& answer, const FinishInfo& f);
nlohmann::json text_completion(const ResponseIds& ids, const std::string& text, const FinishInfo& f);

// One streamed chunk. For chat, `delta` is {"role"} / {"content"} / {"reasoning_content",
// "reasoning"} / {}; for completions the text. finish_reason null unless given.
nlohmann::json chat_chunk(const ResponseIds& ids, nlohmann::json delta, const std::optional<std::string>& finish_reason);
nlohmann::json text_chunk(const ResponseIds& ids, const std::string& text, const std::optional<std::string>& finish_reason);
// The last chunk of a stream with stream_options.include_usage: no choices, the usage.
nlohmann::json usage_chunk(const ResponseIds& ids, bool chat, const FinishInfo& f);

// "data: <json>\n\n" (invalid UTF-8 from the model is replaced, never thrown on).
std::string sse_event(const nlohmann::json& j);
std::string dump(const nlohmann::json& j);

}  // namespace r1vk::serve::http
