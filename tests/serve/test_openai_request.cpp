// Request bodies of /v1/chat/completions and /v1/completions: defaults, the accepted shapes, and
// for each kind of bad input the status and the field the error names.
#include <doctest/doctest.h>

#include <string>

#include "serve/http/openai_request.h"
#include "serve/http/openai_response.h"

namespace r1vk::serve::http {
namespace {

RequestLimits limits() {
  RequestLimits l;
  l.max_tokens_cap = 512;
  return l;
}

CompletionRequest ok(const std::string& body, bool chat = true) {
  auto r = parse_completion_request(body, chat, SamplingDefaults{}, limits());
  if (auto* e = std::get_if<ApiError>(&r)) FAIL_CHECK(e->message);
  REQUIRE(std::holds_alternative<CompletionRequest>(r));
  return std::get<CompletionRequest>(r);
}

ApiError bad(const std::string& body, bool chat = true) {
  auto r = parse_completion_request(body, chat, SamplingDefaults{}, limits());
  REQUIRE_MESSAGE(std::holds_alternative<ApiError>(r), body);
  return std::get<ApiError>(r);
}

TEST_CASE("a minimal chat request gets the defaults") {
  auto r = ok(R"({"messages": [{"role": "user", "content": "hi"}]})");
  REQUIRE(r.messages.size() == 1);
  CHECK(r.messages[0].content == "hi");
  CHECK(!r.stream);
  CHECK(r.temperature == doctest::Approx(0.6));
  CHECK(r.top_p == doctest::Approx(0.95));
  CHECK(!r.max_tokens);
}

TEST_CASE("accepted shapes: content parts, developer role, null assistant content, stop string, top_k -1, n 1") {
  auto r = ok(R"({"model": "m", "messages": [{"role": "developer", "content": "be brief"},
      {"role": "user", "content": [{"type": "text", "text": "a"}, {"type": "text", "text": "b"}]},
      {"role": "assistant", "content": null, "reasoning_content": "ignored"}],
      "stream": true, "stream_options": {"include_usage": true}, "temperature": 0, "top_p": 1, "top_k": -1,
      "seed": -1, "n": 1, "stop": "x", "max_tokens": 10, "max_completion_tokens": 20, "logit_bias": {}})");
  CHECK(r.messages[0].role == text::ChatRole::kSystem);
  CHECK(r.messages[1].content == "ab");
  CHECK(r.messages[2].content.empty());
  CHECK(r.stream);
  CHECK(r.include_usage);
  CHECK(r.top_k == 0);
  CHECK(r.seed == 0xffffffffu);
  CHECK(r.max_tokens == 20);  // max_completion_tokens wins
  CHECK(r.stop == std::vector<std::string>{"x"});
  auto c = ok(R"({"prompt": ["1+1="], "max_tokens": 3})", false);
  CHECK(c.prompt == "1+1=");
  CHECK(!c.seed.has_value());  // not given: the server draws one per request
}

TEST_CASE("bad bodies name the problem and the field") {
  struct Case {
    const char* body;
    const char* param;
  };
  const Case cases[] = {
      {R"({"messages": "hi"})", "messages"},
      {R"({"messages": []})", "messages"},
      {R"({})", "messages"},
      {R"({"messages": [1]})", "messages[0]"},
      {R"({"messages": [{"role": "bot", "content": "x"}]})", "messages[0].role"},
      {R"({"messages": [{"role": "user"}]})", "messages[0].content"},
      {R"({"messages": [{"role": "user", "content": [{"type": "image_url"}]}]})", "messages[0].content[0].type"},
      {R"({"messages": [{"role": "user", "content": "x"}], "temperature": "0"})", "temperature"},
      {R"({"messages": [{"role": "user", "content": "x"}], "temperature": -0.5})", "temperature"},
      {R"({"messages": [{"role": "user", "content": "x"}], "top_p": 0})", "top_p"},
      {R"({"messages": [{"role": "user", "content": "x"}], "top_p": 1.5})", "top_p"},
      {R"({"messages": [{"role": "user", "content": "x"}], "max_tokens": 0})", "max_tokens"},
      {R"({"messages": [{"role": "user", "content": "x"}], "max_tokens": 513})", "max_tokens"},
      {R"({"messages": [{"role": "user", "content": "x"}], "max_completion_tokens": -3})", "max_completion_tokens"},
      {R"({"messages": [{"role": "user", "content": "x"}], "max_tokens": 1.5})", "max_tokens"},
      {R"({"messages": [{"role": "user", "content": "x"}], "n": 2})", "n"},
      {R"({"messages": [{"role": "user", "content": "x"}], "logprobs": true})", "logprobs"},
      {R"({"messages": [{"role": "user", "content": "x"}], "logprobs": 2})", "logprobs"},
      {R"({"messages": [{"role": "user", "content": "x"}], "top_logprobs": 2})", "top_logprobs"},
      {R"({"messages": [{"role": "user", "content": "x"}], "top_k": -2})", "top_k"},
      {R"({"messages": [{"role": "user", "content": "x"}], "stream": 1})", "stream"},
      {R"({"messages": [{"role": "user", "content": "x"}], "stream_options": {"include_usage": "yes"}})", "stream_options.include_usage"},
      {R"({"messages": [{"role": "user", "content": "x"}], "stop": ["a", 1]})", "stop[1]"},
      {R"({"messages": [{"role": "user", "content": "x"}], "max_tokens": 1e30})", "max_tokens"},
      {R"({"messages": [{"role": "user", "content": "x"}], "stop": ["a", "b", "c", "d", "e"]})", "stop"},
      {R"({"messages": [{"role": "user", "content": "x"}], "model": 7})", "model"},
  };
  for (const auto& c : cases) {
    const ApiError e = bad(c.body);
    CHECK_MESSAGE(e.status == 400, c.body);
    CHECK_MESSAGE(e.param == c.param, c.body, " -> ", e.message);
    CHECK(!e.message.empty());
  }
  CHECK(bad(R"({"prompt": 5})", false).param == "prompt");
  CHECK(bad(R"({"prompt": ""})", false).param == "prompt");
  CHECK(bad(R"({"prompt": ["a", "b"]})", false).param == "prompt");
  CHECK(bad(R"({"prompt": "a", "logprobs": 2})", false).param == "logprobs");
  // Asking for none is fine.
  CHECK(ok(R"({"messages": [{"role": "user", "content": "x"}], "logprobs": false, "top_logprobs": 0})").messages.size() == 1);
}

TEST_CASE("messages say what is wrong: an array element that is not a string, an integer out of range") {
  CHECK(bad(R"({"messages": [{"role": "user", "content": "x"}], "stop": [1]})").message == "stop[0] must be a string, not a number");
  const ApiError big = bad(R"({"messages": [{"role": "user", "content": "x"}], "max_tokens": 1e30})");
  CHECK(big.message.find("out of range") != std::string::npos);
  CHECK(big.code == "invalid_value");
  CHECK(bad(R"({"messages": [{"role": "user", "content": "x"}], "max_tokens": 1.5})").message.find("not a fraction") != std::string::npos);
  // A whole number written with an exponent is that integer.
  CHECK(ok(R"({"messages": [{"role": "user", "content": "x"}], "max_tokens": 1e2})").max_tokens == 100);
}

TEST_CASE("malformed JSON, non-objects and deep nesting are invalid_json") {
  for (const std::string& body : {std::string("{"), std::string("[1]"), std::string("\"x\""), std::string("{\"a\": NaN}"),
                                 std::string("{\"\xff\": 1}"), std::string(10000, '[') + std::string(10000, ']')}) {
    const ApiError e = bad(body);
    CHECK(e.status == 400);
    CHECK(e.code == "invalid_json");
  }
  CHECK(json_nesting_depth(R"({"a": "[[[[", "b": [{"c": "\"]]"}]})") == 3);
}

TEST_CASE("errors and chunks have the OpenAI shape") {
  const auto j = bad(R"({"messages": 1})").to_json();
  CHECK(j["error"]["type"] == "invalid_request_error");
  CHECK(j["error"]["param"] == "messages");
  CHECK(j["error"].contains("code"));
  FinishInfo f;
  f.prompt_tokens = 5;
  f.completion_tokens = 7;
  f.reasoning_tokens = 3;
  const auto c = chat_completion({"id", 1, "m"}, "why", "42", f);
  CHECK(c["choices"][0]["message"]["content"] == "42");
  CHECK(c["choices"][0]["message"]["reasoning_content"] == "why");
  CHECK(c["choices"][0]["message"]["reasoning"] == "why");
  CHECK(c["choices"][0]["finish_reason"] == "stop");
  CHECK(c["usage"]["total_tokens"] == 12);
  CHECK(c["usage"]["completion_tokens_details"]["reasoning_tokens"] == 3);
  CHECK(sse_event(nlohmann::json{{"a", "\xff"}}) == "data: {\"a\":\"\xef\xbf\xbd\"}\n\n");  // invalid UTF-8 replaced
}

}  // namespace
}  // namespace r1vk::serve::http
