// Problem files (JSON Lines) and answer extraction: what is accepted, and the errors that name
// the line. The demo model's accuracy per format is in test_demo_accuracy.cpp.
#include <doctest/doctest.h>

#include <map>
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

TEST_CASE("the committed held-out set: 500 canonical problems of three kinds, then other phrasings") {
  auto r = api::read_problems_file((testing::demo_dir() / "heldout.jsonl").string());
  R1VK_REQUIRE_OK(r);
  REQUIRE(r->size() == 860);
  std::map<std::string, int> kinds;
  for (size_t i = 0; i < r->size(); ++i) {
    const auto& p = (*r)[i];
    ++kinds[p.kind];
    // the canonical phrasing first (demo_accuracy_tests' subset relies on the order)
    const bool canonical = p.kind == "addition" || p.kind == "subtraction >= 0" || p.kind == "subtraction < 0";
    CHECK(canonical == (i < 500));
  }
  CHECK(kinds["addition"] == 244);
  CHECK(kinds["subtraction >= 0"] == 122);
  CHECK(kinds["subtraction < 0"] == 134);
  for (const char* k : {"phrasing: no spaces", "phrasing: lower case", "phrasing: upper case", "phrasing: no question mark",
                        "phrasing: Compute", "phrasing: Calculate", "phrasing: plus / minus", "phrasing: mixed",
                        "not arithmetic"}) {
    CAPTURE(k);
    CHECK(kinds[k] == 40);
  }
  CHECK(kinds.size() == 12);
}

}  // namespace
}  // namespace r1vk
