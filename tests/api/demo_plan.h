// The bundled demo model (models/r1vk-demo) compiled to a plan in a given weight format and
// loaded on the test device, for the tests of perplexity and problem-set accuracy.
#pragma once

#include <filesystem>
#include <memory>
#include <string>

#include "compiler/plan_test_util.h"
#include "exec/model.h"
#include "text/tokenizer.h"

// Fails the test with the error's message. (REQUIRE_MESSAGE(r.ok(), r.error().message()) would
// evaluate error() on success when doctest reports successes, -s.)
#define R1VK_REQUIRE_OK(result)                                  \
  do {                                                           \
    if (!(result).ok()) FAIL_CHECK((result).error().message());  \
    REQUIRE((result).ok());                                      \
  } while (0)

namespace r1vk::testing {

std::filesystem::path source_dir();
std::filesystem::path demo_dir();

struct DemoPlan {
  std::unique_ptr<TempPlanPath> path;
  std::unique_ptr<exec::Model> model;
};

// Compiles with `max_context` positions and prefill chunks of `prefill_chunk`; fails the test
// on error.
DemoPlan load_demo_plan(const std::string& format, int64_t max_context = 256, int64_t prefill_chunk = 32);
text::Tokenizer demo_tokenizer();

}  // namespace r1vk::testing
