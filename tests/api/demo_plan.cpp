#include "api/demo_plan.h"

#include <doctest/doctest.h>

#include <cstdlib>

#include "harness/kernel_harness.h"

namespace r1vk::testing {

std::filesystem::path source_dir() {
  const char* s = std::getenv("R1VK_SOURCE_DIR");
  return s ? std::filesystem::path(s) : std::filesystem::path(".");
}

std::filesystem::path demo_dir() { return source_dir() / "models/r1vk-demo"; }

DemoPlan load_demo_plan(const std::string& format, int64_t max_context, int64_t prefill_chunk) {
  DemoPlan d;
  d.path = std::make_unique<TempPlanPath>("api_demo_" + format);
  CompileOptions opt;
  opt.weights = format;
  opt.max_context = max_context;
  opt.prefill_chunk = prefill_chunk;
  auto m = compile_checkpoint(demo_dir().string(), opt, d.path->str());
  R1VK_REQUIRE_OK(m);
  auto plan = plan::LoadedPlan::open(d.path->str());
  R1VK_REQUIRE_OK(plan);
  auto model = exec::Model::load(test::context(), std::move(plan).value());
  R1VK_REQUIRE_OK(model);
  d.model = std::move(model).value();
  return d;
}

text::Tokenizer demo_tokenizer() {
  auto t = text::Tokenizer::from_directory(demo_dir());
  R1VK_REQUIRE_OK(t);
  return std::move(t).value();
}

}  // namespace r1vk::testing
