#include "reference/logit_agreement.h"

#include <algorithm>
#include <cmath>

namespace r1vk::testing {

LogitAgreement compare_logits(std::span<const float> want, std::span<const float> got, int64_t vocab) {
  LogitAgreement a;
  const int64_t n = std::min(want.size(), got.size()) / static_cast<size_t>(vocab);
  if (want.size() != got.size() || n == 0) {
    a.min_cosine = a.mean_cosine = a.argmax_match = 0.0;
    return a;
  }
  int64_t same = 0;
  double sum_cos = 0.0;
  for (int64_t i = 0; i < n; ++i) {
    const float* w = want.data() + i * vocab;
    const float* g = got.data() + i * vocab;
    double dot = 0, ww = 0, gg = 0;
    for (int64_t k = 0; k < vocab; ++k) {
      a.all_finite = a.all_finite && std::isfinite(g[k]);
      dot += static_cast<double>(w[k]) * g[k];
      ww += static_cast<double>(w[k]) * w[k];
      gg += static_cast<double>(g[k]) * g[k];
      a.max_abs = std::max(a.max_abs, static_cast<double>(std::fabs(w[k] - g[k])));
    }
    const double cos = dot / std::sqrt(ww * gg);
    a.min_cosine = std::min(a.min_cosine, cos);
    sum_cos += cos;
    same += std::max_element(w, w + vocab) - w == std::max_element(g, g + vocab) - g;
  }
  a.mean_cosine = sum_cos / static_cast<double>(n);
  a.argmax_match = static_cast<double>(same) / static_cast<double>(n);
  return a;
}

}  // namespace r1vk::testing
