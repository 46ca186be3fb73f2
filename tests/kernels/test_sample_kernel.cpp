// The GPU sampler against its definition (sample_draw.comp), mirrored here on the CPU:
//   w_i = exp((l_i - max) / T); order = (logit desc, index asc); top-k keeps the first k;
//   top-p keeps the shortest prefix of that order whose mass >= top_p * (top-k mass);
//   the token is drawn from the kept w_i renormalised, u = hash(seed, rng_counter).
// Greedy (T <= 0) is the argmax with the lowest index on ties. Statistics: thousands of draws
// with different counters, each token's frequency within 4.5 standard deviations of the CPU
// probability, and never a token outside the kept set.
#include <algorithm>
#include <cmath>
#include <numeric>
#include <set>
#include <vector>

#include "attention_test_util.h"

namespace r1vk {
namespace {

using test::BufferPool;
using test::view;

std::vector<double> sample_distribution(const std::vector<float>& l, float temp, uint32_t top_k, float top_p) {
  const size_t V = l.size();
  const float mx = *std::max_element(l.begin(), l.end());
  std::vector<double> w(V);
  for (size_t i = 0; i < V; ++i) w[i] = std::exp((static_cast<double>(l[i]) - mx) / temp);
  std::vector<size_t> order(V);
  std::iota(order.begin(), order.end(), 0);
  std::stable_sort(order.begin(), order.end(), [&](size_t a, size_t b) { return l[a] > l[b]; });
  size_t kept = top_k > 0 && top_k < V ? top_k : V;
  if (top_p < 1.0f) {
    double mass = 0;
    for (size_t i = 0; i < kept; ++i) mass += w[order[i]];
    double cum = 0;
    size_t n = 0;
    while (n < kept) {
      cum += w[order[n++]];
      if (cum >= top_p * mass) break;
    }
    kept = n;
  }
  std::vector<double> p(V, 0.0);
  double z = 0;
  for (size_t i = 0; i < kept; ++i) z += w[order[i]];
  for (size_t i = 0; i < kept; ++i) p[order[i]] = w[order[i]] / z;
  return p;
}

// Draws `draws` tokens from one logits row in one command buffer, counter = first + i.
std::vector<uint32_t> draw_many(const std::vector<float>& logits, uint32_t V, uint32_t rows, uint32_t row, uint32_t stride,
                                kernels::StepParams base, uint32_t draws, uint32_t first_counter) {
  BufferPool pool;
  const auto& bl = pool.upload(logits, "logits");
  // Encoded steps at a 256-byte stride (StepParams needs 16-byte alignment).
  constexpr uint32_t kStride = 64;
  std::vector<uint32_t> steps(size_t{draws} * kStride, 0);
  for (uint32_t i = 0; i < draws; ++i) {
    base.rng_counter = first_counter + i;
    base.sample_row = row;
    const auto w = kernels::encode_step(base);
    REQUIRE(w.size() <= kStride);
    std::copy(w.begin(), w.end(), steps.begin() + size_t{i} * kStride);
  }
  const auto& bsteps = pool.upload(steps, "steps");
  const auto& bout = pool.upload(std::vector<uint32_t>(draws, 0xdeadbeefu), "tokens");
  const auto& bnext = pool.upload(std::vector<uint32_t>(row + 2, 0xdeadbeefu), "next");
  const auto& bscratch = pool.zeros(kernels::AttentionKernels::sample_scratch_bytes(V), "scratch");
  auto& k = test::attention_kernels();
  k.set_sample_scratch(bscratch.address());
  (void)rows;
  test::run_ok([&](vk::CommandBuffer& cmd) -> Status {
    for (uint32_t i = 0; i < draws; ++i) {
      const kernels::StepView step{bsteps.address() + 4ull * kStride * i, 1};
      R1VK_TRY(k.record_sample(cmd, view(bl, V, stride), bout.address() + 4ull * i, i + 1 == draws ? bnext.address() : 0, step));
      cmd.compute_barrier();
    }
    return ok_status();
  });
  auto out = test::download_as<uint32_t>(bout, draws);
  const auto next = test::download_as<uint32_t>(bnext, row + 2);
  CHECK(next[row] == out.back());  // next_tokens carries the last draw, at its logits row
  for (uint32_t r = 0; r < row + 2; ++r) {
    if (r != row) CHECK(next[r] == 0xdeadbeefu);
  }
  return out;
}

void check_frequencies(const std::vector<float>& l, float temp, uint32_t top_k, float top_p) {
  CAPTURE(temp);
  CAPTURE(top_k);
  CAPTURE(top_p);
  const uint32_t V = static_cast<uint32_t>(l.size()), N = 3000;
  kernels::StepParams s;
  s.temperature = temp;
  s.top_k = top_k;
  s.top_p = top_p;
  s.seed = 1234;
  const auto tokens = draw_many(l, V, 1, 0, V, s, N, 100);
  const auto p = sample_distribution(l, temp, top_k, top_p);
  std::vector<double> count(V, 0);
  size_t out_of_range = 0;
  for (uint32_t t : tokens) {
    if (t >= V) ++out_of_range;
    else count[t] += 1;
  }
  CHECK(out_of_range == 0);
  for (uint32_t i = 0; i < V; ++i) {
    CAPTURE(i);
    const double f = count[i] / N, sigma = std::sqrt(p[i] * (1 - p[i]) / N);
    if (p[i] == 0) CHECK(count[i] == 0);  // outside the kept set: never drawn
    else CHECK(std::abs(f - p[i]) <= 4.5 * sigma + 1.0 / N);
  }
}

TEST_CASE("sampling frequencies match the defined distribution") {
  const std::vector<float> l{1.0f, 2.5f, 0.3f, 2.0f, -1.0f, 1.7f, 2.5f, 0.0f, 1.1f, -0.5f};
  check_frequencies(l, 0.7f, 0, 1.0f);    // temperature only
  check_frequencies(l, 1.0f, 3, 1.0f);    // top-k (tokens 1 and 6 tie at the top)
  check_frequencies(l, 1.0f, 0, 0.6f);    // top-p
  check_frequencies(l, 1.3f, 5, 0.8f);    // both
  check_frequencies({2, 2, 2, 1, 1, 0}, 1.0f, 2, 1.0f);  // a top-k cut inside a tie: lower indices kept
  check_frequencies(l, 1.0f, 0, 0.0f);    // top_p 0: the top token only (lowest index on the tie)
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("greedy picks the lowest index among the maxima, from sample_row") {
  for (uint32_t V : {1u, 300u, 4096u, 4097u, 129280u, 152064u}) {  // one chunk (one pass), two, many
    CAPTURE(V);
    const uint32_t rows = 3, stride = V + 16;
    auto l = test::random_floats(size_t{rows} * stride, 91 + V, -5, 5);
    uint32_t want = 0;
    if (V > 1) {
      l[2 * stride + V - 1] = 9.0f;  // the last logit of row 2 and an earlier one tie
      l[2 * stride + 100] = 9.0f;
      l[1 * stride + 5] = 20.0f;  // a larger value in another row must not matter
      want = 100;
    }
    kernels::StepParams s;
    s.temperature = 0.0f;
    const auto tokens = draw_many(l, V, rows, 2, stride, s, 2, 0);
    CHECK(tokens[0] == want);
    CHECK(tokens[1] == want);
    s.temperature = 0.9f;  // top_k 1 is greedy too, ties included
    s.top_k = 1;
    CHECK(draw_many(l, V, rows, 2, stride, s, 1, 0)[0] == want);
  }
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("a seed reproduces its draws and another seed differs") {
  const auto l = test::random_floats(5000, 93, -2, 2);
  kernels::StepParams s;
  s.temperature = 1.0f;
  s.seed = 42;
  const auto a = draw_many(l, 5000, 1, 0, 5000, s, 40, 7);
  const auto b = draw_many(l, 5000, 1, 0, 5000, s, 40, 7);
  s.seed = 43;
  const auto c = draw_many(l, 5000, 1, 0, 5000, s, 40, 7);
  CHECK(a == b);
  CHECK(a != c);
  CHECK(std::set<uint32_t>(a.begin(), a.end()).size() > 20);  // the counter moves the draw
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("large-vocabulary draws stay inside the top-k / top-p set") {
  const uint32_t V = 152064;
  auto l = test::random_floats(V, 95, -6, 6);
  struct Cut { uint32_t top_k; float top_p; };
  for (Cut c : {Cut{40, 0.9f}, Cut{0, 0.5f}, Cut{1000, 1.0f}}) {
    CAPTURE(c.top_k);
    CAPTURE(c.top_p);
    kernels::StepParams s;
    s.temperature = 0.8f;
    s.top_k = c.top_k;
    s.top_p = c.top_p;
    s.seed = 5;
    const auto tokens = draw_many(l, V, 1, 0, V, s, 64, 0);
    // Membership with a hair of slack on top_p: a token exactly at the boundary may round either way.
    const auto p = sample_distribution(l, 0.8f, c.top_k, std::min(1.0f, c.top_p + 1e-4f));
    size_t outside = 0;
    for (uint32_t t : tokens) outside += t >= V || p[t] == 0;
    CHECK(outside == 0);
    CHECK(std::set<uint32_t>(tokens.begin(), tokens.end()).size() > 8);
  }
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("top-k with top-p < 1 keeps at most k tokens; a temperature below 1/FLT_MAX is greedy") {
  // The top-p descent could stop at a digit prefix below the top-k cut, letting in every token
  // sharing it: top_k 1 with top_p 0.95 drew many tokens at a high temperature.
  const uint32_t V = 152064;
  auto l = test::random_floats(V, 97, -3, 3);
  l[777] = 3.5f;  // the argmax
  for (uint32_t k : {1u, 2u, 40u}) {
    for (float top_p : {0.5f, 0.95f, 0.99f}) {
      CAPTURE(k);
      CAPTURE(top_p);
      kernels::StepParams s;
      s.temperature = 5.0f;
      s.top_k = k;
      s.top_p = top_p;
      s.seed = 11;
      const auto tokens = draw_many(l, V, 1, 0, V, s, 64, 0);
      const auto p = sample_distribution(l, 5.0f, k, 1.0f);  // the top-k set (top-p only narrows it)
      size_t outside = 0;
      for (uint32_t t : tokens) outside += t >= V || p[t] == 0;
      CHECK(outside == 0);
      if (k == 1) CHECK(std::set<uint32_t>(tokens.begin(), tokens.end()) == std::set<uint32_t>{777});
    }
  }
  kernels::StepParams tiny;
  tiny.temperature = 1e-40f;  // a subnormal: 1/T overflows
  tiny.seed = 3;
  const auto tokens = draw_many(l, V, 1, 0, V, tiny, 16, 0);
  CHECK(std::set<uint32_t>(tokens.begin(), tokens.end()) == std::set<uint32_t>{777});
  CHECK(test::validation_errors() == 0);
}

TEST_CASE("ids past the sampling vocabulary limit are never chosen, greedy or drawn") {
  // A padded vocabulary whose padding logits are the largest of the row: without the mask both
  // greedy and every draw would pick them.
  auto& k = test::attention_kernels();
  struct Case { uint32_t V, limit, stride; };
  for (Case c : {Case{10, 7, 10}, Case{129280, 128815, 129296}}) {
    CAPTURE(c.V);
    auto l = test::random_floats(c.stride, 97 + c.V, -3, 3);
    for (uint32_t i = c.limit; i < c.V; ++i) l[i] = 50.0f;
    l[c.limit / 2] = 4.0f;  // the largest logit of the valid ids
    k.set_sample_vocab_limit(c.limit);
    kernels::StepParams s;
    s.temperature = 0.0f;
    const auto greedy = draw_many(l, c.V, 1, 0, c.stride, s, 1, 0);
    s.temperature = 1.0f;
    s.seed = 11;
    const auto drawn = draw_many(l, c.V, 1, 0, c.stride, s, c.V < 100 ? 400 : 32, 0);
    s.top_k = 3;
    s.top_p = 0.9f;
    const auto cut = draw_many(l, c.V, 1, 0, c.stride, s, 32, 0);
    k.set_sample_vocab_limit(0);
    CHECK(greedy[0] == c.limit / 2);
    size_t masked = 0;
    for (uint32_t t : drawn) masked += t >= c.limit;
    for (uint32_t t : cut) masked += t >= c.limit;
    CHECK(masked == 0);
    if (c.V < 100) {
      // Every valid id still gets drawn in proportion (the mask removes, it does not reweight).
      std::vector<float> valid(l.begin(), l.begin() + c.limit);
      const auto p = sample_distribution(valid, 1.0f, 0, 1.0f);
      std::vector<double> count(c.limit, 0);
      for (uint32_t t : drawn) if (t < c.limit) count[t] += 1;
      for (uint32_t i = 0; i < c.limit; ++i) {
        const double f = count[i] / drawn.size(), sigma = std::sqrt(p[i] * (1 - p[i]) / drawn.size());
        CHECK(std::abs(f - p[i]) <= 4.5 * sigma + 1.0 / drawn.size());
      }
    }
  }
  // Without a limit the padding wins again (the limit is what masks it).
  auto l = test::random_floats(10, 99, -3, 3);
  l[8] = 50.0f;
  kernels::StepParams s;
  CHECK(draw_many(l, 10, 1, 0, 10, s, 1, 0)[0] == 8);
  CHECK(test::validation_errors() == 0);
}

}  // namespace
}  // namespace r1vk
