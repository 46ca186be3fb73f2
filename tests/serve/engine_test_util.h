// Shared by the engine tests: the demo model's tokenizer (only its vocabulary is used: the fake
// runner stands in for the model), scripted replies, and a helper that reads a stream to its end.
#pragma once

#include <chrono>
#include <cstdint>
#include <string>
#include <vector>

#include "serve/fake_step_runner.h"
#include "serve/request_stream.h"
#include "text/tokenizer.h"

namespace r1vk::serve::test {

const text::Tokenizer& demo_tokenizer();
text::TokenId demo_eos();
text::TokenId demo_think_end();
std::vector<int32_t> encode(const std::string& s);

// A prompt the scripted runner recognises: {length, key, key, ...}; `key` picks the reply.
std::vector<int32_t> scripted_prompt(int32_t key, size_t length);

// next_token for FakeStepRunnerOptions: replies[key] token by token after the prompt, then EOS.
std::function<int32_t(const std::vector<int32_t>&)> scripted_replies(std::vector<std::vector<int32_t>> replies);

struct Collected {
  std::string reasoning, answer;
  FinishInfo finish;
};
// Reads the stream until it finishes (fails the test after `limit`).
Collected collect(RequestStream& stream, std::chrono::milliseconds limit = std::chrono::milliseconds(10000));

}  // namespace r1vk::serve::test
