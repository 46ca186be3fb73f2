#include "engine_test_util.h"

#include <cstdlib>
#include <memory>

#include <doctest/doctest.h>

namespace r1vk::serve::test {

const text::Tokenizer& demo_tokenizer() {
  static const std::unique_ptr<text::Tokenizer> tok = [] {
    const char* src = std::getenv("R1VK_SOURCE_DIR");
    REQUIRE_MESSAGE(src != nullptr, "R1VK_SOURCE_DIR is not set (CTest sets it)");
    auto t = text::Tokenizer::from_directory(std::string(src) + "/models/r1vk-demo");
    REQUIRE(t.ok());
    return std::make_unique<text::Tokenizer>(std::move(t).value());
  }();
  return *tok;
}

text::TokenId demo_eos() { return *demo_tokenizer().find_token("<｜end▁of▁sentence｜>"); }
text::TokenId demo_think_end() { return *demo_tokenizer().find_token("</think>"); }

std::vector<int32_t> encode(const std::string& s) {
  auto ids = demo_tokenizer().encode(s);
  REQUIRE(ids.ok());
  return {ids->begin(), ids->end()};
}

std::vector<int32_t> scripted_prompt(int32_t key, size_t length) {
  std::vector<int32_t> p(length, key);
  p[0] = static_cast<int32_t>(length);
  return p;
}

std::function<int32_t(const std::vector<int32_t>&)> scripted_replies(std::vector<std::vector<int32_t>> replies) {
  const int32_t eos = static_cast<int32_t>(demo_eos());
  return [replies = std::move(replies), eos](const std::vector<int32_t>& h) {
    const size_t prompt_len = static_cast<size_t>(h[0]);
    const size_t key = static_cast<size_t>(prompt_len > 1 ? h[1] : 0);
    const size_t i = h.size() - prompt_len;  // tokens generated before this one
    if (key >= replies.size() || i >= replies[key].size()) return eos;
    return replies[key][i];
  };
}

Collected collect(RequestStream& stream, std::chrono::milliseconds limit) {
  Collected c;
  const auto end = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < end) {
    StreamUpdate u = stream.take(std::chrono::milliseconds(50));
    for (const auto& p : u.pieces) (p.kind == text::TextKind::kReasoning ? c.reasoning : c.answer) += p.text;
    if (u.finish) {
      c.finish = *u.finish;
      return c;
    }
  }
  FAIL("the stream did not finish in time");
  return c;
}

}  // namespace r1vk::serve::test
