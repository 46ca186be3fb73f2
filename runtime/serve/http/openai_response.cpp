#include "serve/http/openai_response.h"

namespace r1vk::serve::http {

using Json = nlohmann::json;

std::optional<std::string> openai_finish_reason(FinishReason r) {
  switch (r) {
    case FinishReason::kStop: return "stop";
    case FinishReason::kLength: return "length";
    default: return std::nullopt;
  }
}

Json usage_json(const FinishInfo& f) {
  return {{"prompt_tokens", f.prompt_tokens},
          {"completion_tokens", f.completion_tokens},
          {"total_tokens", f.prompt_tokens + f.completion_tokens},
          {"completion_tokens_details", {{"reasoning_tokens", f.reasoning_tokens}}}};
}

static Json finish_json(const std::optional<std::string>& r) { return r ? Json(*r) : Json(nullptr); }

Json chat_completion(const ResponseIds& ids, const std::string& reasoning, const std::string& answer, const FinishInfo& f) {
  Json message = {{"role", "assistant"}, {"content", answer}, {"reasoning_content", reasoning}, {"reasoning", reasoning}};
  return {{"id", ids.id},
          {"object", "chat.completion"},
          {"created", ids.created},
          {"model", ids.model},
          {"choices", Json::array({{{"index", 0}, {"message", message}, {"logprobs", nullptr}, {"finish_reason", finish_json(openai_finish_reason(f.reason))}}})},
          {"usage", usage_json(f)}};
}

Json text_completion(const ResponseIds& ids, const std::string& text, const FinishInfo& f) {
  return {{"id", ids.id},
          {"object", "text_completion"},
          {"created", ids.created},
          {"model", ids.model},
          {"choices", Json::array({{{"index", 0}, {"text", text}, {"logprobs", nullptr}, {"finish_reason", finish_json(openai_finish_reason(f.reason))}}})},
          {"usage", usage_json(f)}};
}

Json chat_chunk(const ResponseIds& ids, Json delta, const std::optional<std::string>& finish_reason) {
  return {{"id", ids.id},
          {"object", "chat.completion.chunk"},
          {"created", ids.created},
          {"model", ids.model},
          {"choices", Json::array({{{"index", 0}, {"delta", std::move(delta)}, {"logprobs", nullptr}, {"finish_reason", finish_json(finish_reason)}}})}};
}

Json text_chunk(const ResponseIds& ids, const std::string& text, const std::optional<std::string>& finish_reason) {
  return {{"id", ids.id},
          {"object", "text_completion"},
          {"created", ids.created},
          {"model", ids.model},
          {"choices", Json::array({{{"index", 0}, {"text", text}, {"logprobs", nullptr}, {"finish_reason", finish_json(finish_reason)}}})}};
}

Json usage_chunk(const ResponseIds& ids, bool chat, const FinishInfo& f) {
  return {{"id", ids.id},
          {"object", chat ? "chat.completion.chunk" : "text_completion"},
          {"created", ids.created},
          {"model", ids.model},
          {"choices", Json::array()},
          {"usage", usage_json(f)}};
}

std::string dump(const Json& j) { return j.dump(-1, ' ', false, Json::error_handler_t::replace); }

std::string sse_event(const Json& j) { return "data: " + dump(j) + "\n\n"; }

}  // namespace r1vk::serve::http
