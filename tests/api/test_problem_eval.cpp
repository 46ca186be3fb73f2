// Problem files (JSON Lines) and answer extraction: what is accepted, and the errors that name
// the line. The demo model's accuracy per format is in test_demo_accuracy.cpp.
#include <doctest/doctest.h>

#include <string>

#include "api/demo_plan.h"
#include "api/problem_eval.h"

namespace r1vk {
namespace {

std::string error_of(std::string_view text) {
  auto r = api::parse_problems(text, "p.jsonl");
  REQUIRE(!r.ok());
  return r.error().message();
}

TEST_CASE("problem lines: question and answer required, kind optional, blank lines skipped") {
  auto r = api::parse_problems("{\"question\": \"What is 1 + 2?\", \"answer\": \"3\", \"kind\": \"addition\"}\n\n"
                               "  \n{\"answer\": \"-1\", \"question\": \"What is 1 - 2?\"}",
                               "p.jsonl");
  R1VK_REQUIRE_OK(r);
  REQUIRE(r->size() == 2);
  CHECK((*r)[0].question == "What is 1 + 2?");
  CHECK((*r)[0].answer == "3");
  CHECK((*r)[0].kind == "addition");
  CHECK((*r)[0].line == 1);
  CHECK((*r)[1].kind.empty());
  CHECK((*r)[1].line == 4);
}

TEST_CASE("bad problem lines are errors that name the file and line") {
  CHECK(error_of("{\"question\": \"q\", \"answer\": \"a\"}\n{\"question\": \"q\", \"answer\": \n").find("p.jsonl line 2") !=
        std::string::npos);
  const std::string missing = error_of("{\"question\": \"q\", \"answer\": \"a\"}\n\n{\"question\": \"q\"}\n");
  CHECK(missing.find("line 3") != std::string::npos);
  CHECK(missing.find("missing \"answer\"") != std::string::npos);
  CHECK(error_of("{\"question\": \"q\", \"answer\": 3}").find("\"answer\" must be a string") != std::string::npos);
  CHECK(error_of("{\"question\": \"q\", \"answer\": \"3\", \"kind\": 1}").find("\"kind\" must be a string") != std::string::npos);
  CHECK(error_of("[1, 2]").find("expected a JSON object") != std::string::npos);
  CHECK(error_of("{\"question\": \" \", \"answer\": \"3\"}").find("\"question\" is empty") != std::string::npos);
  CHECK(error_of("\n \n").find("no problems") != std::string::npos);
  auto missing_file = api::read_problems_file("/nonexistent/r1vk/problems.jsonl");
  REQUIRE(!missing_file.ok());
  CHECK(missing_file.error().message().find("does not exist") != std::string::npos);
}

TEST_CASE("answers are compared after trimming whitespace, nothing else") {
  CHECK(api::trim_answer("\n\n-61238 \n") == "-61238");
  CHECK(api::trim_answer(" \t ").empty());
  CHECK(api::trim_answer("1 2") == "1 2");
}

TEST_CASE("the committed held-out set has 500 problems of the three kinds") {
  auto r = api::read_problems_file((testing::demo_dir() / "heldout.jsonl").string());
  R1VK_REQUIRE_OK(r);
  CHECK(r->size() == 500);
  int add = 0, sub_pos = 0, sub_neg = 0;
  for (const auto& p : *r) {
    add += p.kind == "addition";
    sub_pos += p.kind == "subtraction >= 0";
    sub_neg += p.kind == "subtraction < 0";
  }
  CHECK(add == 244);
  CHECK(sub_pos == 122);
  CHECK(sub_neg == 134);
}

}  // namespace
}  // namespace r1vk
