// How closely two [rows, vocab] logit matrices agree: the per-row cosine (worst and mean), the
// share of rows with the same argmax, and the largest absolute difference. Every end-to-end
// comparison in the tests states its tolerance in these terms.
#pragma once

#include <cstdint>
#include <span>

namespace r1vk::testing {

struct LogitAgreement {
  double min_cosine = 1.0;
  double mean_cosine = 1.0;
  double argmax_match = 1.0;
  double max_abs = 0.0;
  bool all_finite = true;
};

// Rows are compared in order; both spans must hold the same number of rows of `vocab` values.
LogitAgreement compare_logits(std::span<const float> want, std::span<const float> got, int64_t vocab);

}  // namespace r1vk::testing
