// The expert cache's starting scores from a calibration file (exec::calibration_scores), on a
// hand-made plan: no device.
#include <doctest/doctest.h>

#include <limits>

#include "exec/expert_placement.h"

namespace r1vk::exec {
namespace {

plan::Manifest two_op_plan() {
  plan::Manifest m;
  for (const char* label : {"layers.1.moe.experts", "layers.2.moe.experts"}) {
    plan::Op op;
    op.kind = plan::OpKind::kMoeExperts;
    op.label = label;
    op.ints["experts"] = 4;
    op.ints["top_k"] = 2;
    for (int i = 0; i < 8; ++i) {
      op.weights.push_back(static_cast<int32_t>(m.tensors.size()));
      m.tensors.push_back(plan::TensorEntry{});
    }
    m.main.ops.push_back(op);
  }
  return m;
}

TEST_CASE("calibration_scores: each op's shares times top_k over 1 - decay; counts near 2^64 keep their shares") {
  const plan::Manifest m = two_op_plan();
  const std::vector<ExpertUnit> units = routed_experts(m);
  REQUIRE(units.size() == 8);
  const std::vector<uint32_t> top_k(units.size(), 2);
  constexpr uint64_t kMax = std::numeric_limits<uint64_t>::max();
  // Op 1: three experts at 2^64 - 1 and one at 0 (a 64-bit sum would wrap to 2^64 - 3 and give
  // each hot expert a share of about 1). Op 2: not in the file, so it starts cold.
  const ExpertCounts counts = {{"layers.1.moe.experts", {kMax, 0, kMax, kMax}}};
  const std::vector<double> s = calibration_scores(m, units, top_k, counts, 0.75);
  REQUIRE(s.size() == 8);
  for (size_t i : {0, 2, 3}) CHECK(s[i] == doctest::Approx(2.0 / 3.0 / 0.25));
  CHECK(s[1] == 0);
  for (size_t i = 4; i < 8; ++i) CHECK(s[i] == 0);
  // An op that counted nothing starts cold rather than dividing by zero.
  const std::vector<double> zero = calibration_scores(m, units, top_k, {{"layers.2.moe.experts", {0, 0, 0, 0}}}, 0.75);
  for (double v : zero) CHECK(v == 0);
}

}  // namespace
}  // namespace r1vk::exec
