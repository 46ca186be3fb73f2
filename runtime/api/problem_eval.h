// Answer accuracy on a set of question/answer problems (r1vk eval): each question is posed as a
// one-turn R1 chat, answered greedily, and the text after "</think>", trimmed, must equal the
// expected answer exactly. Generic: nothing here knows what the problems are about.
//
// Problem files are JSON Lines: one object per non-blank line with string fields "question" and
// "answer" and an optional string "kind" that accuracy is also broken down by.
#pragma once

#include <cstdint>
#include <functional>
#include <map>
#include <span>
#include <string>
#include <string_view>
#include <vector>

#include "api/generation.h"
#include "base/status.h"
#include "exec/session.h"
#include "text/tokenizer.h"

namespace r1vk::api {

struct Problem {
  std::string question;
  std::string answer;
  std::string kind;  // empty when the line has none
  int64_t line = 0;  // 1-based line in the file
};

// Parses JSON Lines text; errors name `source` and the line number.
Result<std::vector<Problem>> parse_problems(std::string_view text, const std::string& source);
Result<std::vector<Problem>> read_problems_file(const std::string& path);

// Leading and trailing whitespace removed.
std::string trim_answer(std::string_view text);

struct ProblemResult {
  size_t index = 0;    // into the problems given
  std::string got;     // the trimmed answer text ("" when the reply never closed its reasoning)
  bool correct = false;
  bool closed_reasoning = false;  // answer text followed a "</think>"
  int64_t generated_tokens = 0;
  FinishReason finish = FinishReason::kEndOfSentence;
};

struct KindTally {
  int64_t correct = 0;
  int64_t total = 0;
};

struct EvalReport {
  int64_t correct = 0;
  int64_t total = 0;
  std::map<std::string, KindTally> by_kind;  // problems with a kind only
  std::vector<ProblemResult> failures;       // in problem order
  int64_t prompt_tokens = 0;
  int64_t generated_tokens = 0;
  double prompt_seconds = 0.0;
  double generation_seconds = 0.0;
  double accuracy() const { return total ? static_cast<double>(correct) / static_cast<double>(total) : 0.0; }
};

struct EvalOptions {
  int64_t max_tokens = 512;  // per answer, reasoning included
  std::function<void(int64_t done, int64_t total)> progress;
};

// Needs a tokenizer with R1's chat tokens. The session is reset before every problem.
Result<EvalReport> evaluate_problems(exec::Session& session, const text::Tokenizer& tokenizer, std::span<const Problem> problems,
                                     const EvalOptions& options);

}  // namespace r1vk::api
