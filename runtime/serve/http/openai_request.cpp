#include "serve/http/openai_request.h"

#include <cmath>
#include <limits>

#include "serve/generation_check.h"

namespace r1vk::serve::http {
namespace {

using Json = nlohmann::json;

std::string type_name(const Json& v) {
  if (v.is_null()) return "null";
  if (v.is_boolean()) return "a boolean";
  if (v.is_number()) return "a number";
  if (v.is_string()) return "a string";
  if (v.is_array()) return "an array";
  return "an object";
}

ApiError wrong_type(const std::string& field, const char* expected, const Json& got) {
  return bad_request(field + " must be " + expected + ", not " + type_name(got), field, "invalid_type");
}

// A member that is absent or null reads as "not given".
const Json* given(const Json& obj, const char* key) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return nullptr;
  return &*it;
}

std::optional<ApiError> read_number(const Json& obj, const char* key, double& out) {
  const Json* v = given(obj, key);
  if (!v) return std::nullopt;
  if (!v->is_number()) return wrong_type(key, "a number", *v);
  out = v->get<double>();
  return std::nullopt;
}

std::optional<ApiError> read_int(const Json& obj, const char* key, std::optional<int64_t>& out) {
  const Json* v = given(obj, key);
  if (!v) return std::nullopt;
  if (v->is_number_unsigned()) {
    const uint64_t u = v->get<uint64_t>();
    out = u > static_cast<uint64_t>(std::numeric_limits<int64_t>::max()) ? std::numeric_limits<int64_t>::max() : static_cast<int64_t>(u);
    return std::nullopt;
  }
  if (v->is_number_integer()) {
    out = v->get<int64_t>();
    return std::nullopt;
  }
  if (v->is_number_float()) {
    // JSON does not tell 1e3 from 1000: a whole number written as a float is an integer, if int64_t holds it.
    const double d = v->get<double>();
    if (std::trunc(d) != d) return bad_request(std::string(key) + " must be an integer, not a fraction", key, "invalid_type");
    if (d < -9223372036854775808.0 || d >= 9223372036854775808.0) {
      return bad_request(std::string(key) + " is out of range: it must be an integer from -2^63 to 2^63 - 1", key, "invalid_value");
    }
    out = static_cast<int64_t>(d);
    return std::nullopt;
  }
  return wrong_type(key, "an integer", *v);
}

std::optional<ApiError> read_bool(const Json& obj, const char* key, bool& out) {
  const Json* v = given(obj, key);
  if (!v) return std::nullopt;
  if (!v->is_boolean()) return wrong_type(key, "a boolean", *v);
  out = v->get<bool>();
  return std::nullopt;
}

// Message content: a string, or an array of {"type": "text", "text": ...} parts (joined).
std::optional<ApiError> read_content(const Json& msg, const std::string& path, bool may_be_null, std::string& out) {
  auto it = msg.find("content");
  if (it == msg.end() || it->is_null()) {
    if (may_be_null) return std::nullopt;
    return bad_request(path + ".content is required", path + ".content", "missing_field");
  }
  if (it->is_string()) {
    out = it->get<std::string>();
    return std::nullopt;
  }
  if (!it->is_array()) return wrong_type(path + ".content", "a string or an array of text parts", *it);
  for (size_t i = 0; i < it->size(); ++i) {
    const Json& part = (*it)[i];
    const std::string pp = path + ".content[" + std::to_string(i) + "]";
    if (!part.is_object()) return wrong_type(pp, "an object", part);
    auto type = part.find("type");
    if (type == part.end() || !type->is_string() || type->get<std::string>() != "text") {
      return bad_request(pp + ": only parts of type \"text\" are supported", pp + ".type", "unsupported_content");
    }
    auto t = part.find("text");
    if (t == part.end() || !t->is_string()) return bad_request(pp + ".text must be a string", pp + ".text", "invalid_type");
    out += t->get<std::string>();
  }
  return std::nullopt;
}

std::optional<ApiError> read_messages(const Json& body, const RequestLimits& limits, std::vector<text::ChatMessage>& out) {
  auto it = body.find("messages");
  if (it == body.end()) return bad_request("messages is required", "messages", "missing_field");
  if (!it->is_array()) return wrong_type("messages", "an array", *it);
  if (it->empty()) return bad_request("messages must not be empty", "messages");
  if (it->size() > limits.max_messages) {
    return bad_request("at most " + std::to_string(limits.max_messages) + " messages", "messages");
  }
  for (size_t i = 0; i < it->size(); ++i) {
    const Json& m = (*it)[i];
    const std::string path = "messages[" + std::to_string(i) + "]";
    if (!m.is_object()) return wrong_type(path, "an object", m);
    auto role = m.find("role");
    if (role == m.end() || !role->is_string()) return bad_request(path + ".role must be a string", path + ".role", "invalid_type");
    std::string r = role->get<std::string>();
    if (r == "developer") r = "system";  // newer OpenAI clients' name for the system role
    auto parsed = text::parse_chat_role(r);
    if (!parsed.ok()) {
      return bad_request(path + ".role \"" + role->get<std::string>() + "\" is not system, user or assistant", path + ".role");
    }
    text::ChatMessage msg;
    msg.role = *parsed;
    // An assistant turn's reasoning_content is dropped: R1 sees only earlier answers.
    if (auto e = read_content(m, path, msg.role == text::ChatRole::kAssistant, msg.content)) return e;
    out.push_back(std::move(msg));
  }
  return std::nullopt;
}

std::optional<ApiError> read_stop(const Json& body, const RequestLimits& limits, std::vector<std::string>& out) {
  const Json* v = given(body, "stop");
  if (!v) return std::nullopt;
  if (v->is_string()) {
    out.push_back(v->get<std::string>());
  } else if (v->is_array()) {
    for (size_t i = 0; i < v->size(); ++i) {
      const Json& s = (*v)[i];
      if (!s.is_string()) return wrong_type("stop[" + std::to_string(i) + "]", "a string", s);
      out.push_back(s.get<std::string>());
    }
  } else {
    return wrong_type("stop", "a string or an array of strings", *v);
  }
  if (out.size() > limits.max_stop_strings) {
    return bad_request("at most " + std::to_string(limits.max_stop_strings) + " stop strings", "stop");
  }
  return std::nullopt;
}

}  // namespace

int json_nesting_depth(std::string_view body) {
  int depth = 0, max_depth = 0;
  bool in_string = false, escaped = false;
  for (char c : body) {
    if (in_string) {
      if (escaped) {
        escaped = false;
      } else if (c == '\\') {
        escaped = true;
      } else if (c == '"') {
        in_string = false;
      }
    } else if (c == '"') {
      in_string = true;
    } else if (c == '[' || c == '{') {
      max_depth = std::max(max_depth, ++depth);
    } else if (c == ']' || c == '}') {
      --depth;
    }
  }
  return max_depth;
}

std::variant<CompletionRequest, ApiError> parse_completion_request(std::string_view text, bool chat, const SamplingDefaults& defaults,
                                                                   const RequestLimits& limits) {
  if (json_nesting_depth(text) > limits.max_json_depth) {
    return bad_request("the JSON body nests deeper than " + std::to_string(limits.max_json_depth) + " levels", "", "invalid_json");
  }
  const Json body = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (body.is_discarded()) return bad_request("the body is not valid JSON", "", "invalid_json");
  if (!body.is_object()) return bad_request("the body must be a JSON object, not " + type_name(body), "", "invalid_json");

  CompletionRequest r;
  r.chat = chat;
  r.temperature = defaults.temperature;
  r.top_p = defaults.top_p;
  if (const Json* m = given(body, "model")) {
    if (!m->is_string()) return wrong_type("model", "a string", *m);
    r.model = m->get<std::string>();
  }
  if (chat) {
    if (auto e = read_messages(body, limits, r.messages)) return *e;
  } else {
    auto it = body.find("prompt");
    if (it == body.end() || it->is_null()) return bad_request("prompt is required", "prompt", "missing_field");
    if (it->is_array() && it->size() == 1 && (*it)[0].is_string()) {
      r.prompt = (*it)[0].get<std::string>();
    } else if (it->is_string()) {
      r.prompt = it->get<std::string>();
    } else {
      return wrong_type("prompt", "a string (or an array of one string)", *it);
    }
    if (r.prompt.empty()) return bad_request("prompt must not be empty", "prompt");
  }
  if (auto e = read_bool(body, "stream", r.stream)) return *e;
  if (const Json* so = given(body, "stream_options")) {
    if (!so->is_object()) return wrong_type("stream_options", "an object", *so);
    if (auto e = read_bool(*so, "include_usage", r.include_usage)) {
      e->param = "stream_options.include_usage";
      return *e;
    }
  }
  if (auto e = read_number(body, "temperature", r.temperature)) return *e;
  if (auto e = read_number(body, "top_p", r.top_p)) return *e;
  std::optional<int64_t> top_k, seed, n, max_tokens, max_completion_tokens;
  if (auto e = read_int(body, "top_k", top_k)) return *e;
  if (auto e = read_int(body, "seed", seed)) return *e;
  if (auto e = read_int(body, "n", n)) return *e;
  if (auto e = read_int(body, "max_tokens", max_tokens)) return *e;
  if (auto e = read_int(body, "max_completion_tokens", max_completion_tokens)) return *e;
  if (n && *n != 1) return bad_request("only n = 1 is supported", "n", "unsupported_value");
  // Log-probabilities are not computed: asking for them is refused rather than answered with
  // "logprobs": null, which a client would take for "none". `false` / null / 0 top_logprobs pass.
  if (const Json* lp = given(body, "logprobs"); lp && !(lp->is_boolean() && !lp->get<bool>())) {
    return bad_request("logprobs are not supported by this server", "logprobs", "unsupported_value");
  }
  if (const Json* tl = given(body, "top_logprobs"); tl && !(tl->is_number_integer() && tl->get<int64_t>() == 0)) {
    return bad_request("top_logprobs are not supported by this server", "top_logprobs", "unsupported_value");
  }
  if (top_k) {
    // vLLM's convention: -1 (or 0) turns top-k off.
    if (*top_k < -1 || *top_k > std::numeric_limits<int32_t>::max()) return bad_request("top_k must be -1, 0 or a positive count", "top_k");
    r.top_k = *top_k <= 0 ? 0u : static_cast<uint32_t>(*top_k);
  }
  if (seed) r.seed = static_cast<uint32_t>(static_cast<uint64_t>(*seed));  // the low 32 bits
  r.max_tokens = max_completion_tokens ? max_completion_tokens : max_tokens;
  const char* max_param = max_completion_tokens ? "max_completion_tokens" : "max_tokens";
  if (Status s = check_generation_options(r.temperature, r.top_p, r.max_tokens.value_or(1)); !s.ok()) {
    const std::string& m = s.error().message();
    const std::string param = m.rfind("temperature", 0) == 0 ? "temperature" : m.rfind("top_p", 0) == 0 ? "top_p" : max_param;
    std::string msg = m;
    if (param == max_param && msg.rfind("max_tokens", 0) == 0) msg = std::string(max_param) + msg.substr(10);
    return bad_request(msg, param, "invalid_value");
  }
  if (r.max_tokens && *r.max_tokens > limits.max_tokens_cap) {
    return bad_request(std::string(max_param) + " is " + std::to_string(*r.max_tokens) + "; this server allows at most " +
                           std::to_string(limits.max_tokens_cap),
                       max_param, "invalid_value");
  }
  if (auto e = read_stop(body, limits, r.stop)) return *e;
  return r;
}

}  // namespace r1vk::serve::http
