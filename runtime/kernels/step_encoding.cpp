// encode_step: the host side of shaders/step.glsl's layout.
#include <algorithm>
#include <cstring>

#include "kernels/views.h"

namespace r1vk::kernels {

namespace {
constexpr uint32_t kHeaderWords = 8, kRowWords = 2, kSampleWords = 8;

uint32_t bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}
}  // namespace

uint64_t step_words(uint32_t max_rows, uint32_t max_samples, uint32_t slots, uint32_t max_blocks) {
  return kHeaderWords + uint64_t{kRowWords} * max_rows + uint64_t{kSampleWords} * max_samples + uint64_t{slots} * max_blocks;
}

std::vector<uint32_t> encode_step(std::span<const StepRow> rows, std::span<const StepSample> samples,
                                  std::span<const uint32_t> table, uint32_t max_blocks, uint32_t max_rows,
                                  uint32_t max_samples) {
  max_rows = std::max<uint32_t>(max_rows, static_cast<uint32_t>(rows.size()));
  max_samples = std::max<uint32_t>(max_samples, static_cast<uint32_t>(samples.size()));
  const uint32_t samples_at = kHeaderWords + kRowWords * max_rows;
  const uint32_t table_at = samples_at + kSampleWords * max_samples;
  std::vector<uint32_t> w(table_at + table.size(), 0);
  w[0] = static_cast<uint32_t>(rows.size());
  w[1] = static_cast<uint32_t>(samples.size());
  w[2] = samples_at;
  w[3] = table_at;
  w[4] = max_blocks;
  for (size_t t = 0; t < rows.size(); ++t) {
    w[kHeaderWords + kRowWords * t] = rows[t].pos;
    w[kHeaderWords + kRowWords * t + 1] = rows[t].seq;
  }
  for (size_t i = 0; i < samples.size(); ++i) {
    uint32_t* s = &w[samples_at + kSampleWords * i];
    s[0] = samples[i].row;
    s[1] = samples[i].rng_counter;
    s[2] = bits(samples[i].temperature);
    s[3] = bits(samples[i].top_p);
    s[4] = samples[i].top_k;
    s[5] = samples[i].seed;
  }
  std::copy(table.begin(), table.end(), w.begin() + table_at);
  return w;
}

std::vector<uint32_t> encode_step(const StepParams& p) {
  std::vector<StepRow> rows(p.n_tokens);
  for (uint32_t t = 0; t < p.n_tokens; ++t) rows[t] = {p.pos0 + t, 0};
  const StepSample sample{p.sample_row, p.rng_counter, p.temperature, p.top_p, p.top_k, p.seed};
  const uint32_t table[1] = {0};
  return encode_step(rows, std::span(&sample, 1), table, 1, p.n_tokens, 1);
}

}  // namespace r1vk::kernels
