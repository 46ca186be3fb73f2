// r1vk_batch: sessions of one batch decoded together in one step give the tokens each gives alone
// (greedy), and bad calls are refused without changing any session.
#include "capi_fixture.h"

namespace {

using capi_test::Loaded;

TEST_CASE("sessions stepped together in a batch decode what they decode alone") {
  Loaded l;
  capi_test::load(l);
  const std::vector<std::vector<int32_t>> prompts = {{1, 20, 31, 7}, {5, 9}, {42, 3, 17, 8, 11, 2}};
  const int steps = 5;
  // Alone: ordinary sessions.
  std::vector<std::vector<int32_t>> alone;
  for (const auto& p : prompts) {
    r1vk_session* s = nullptr;
    CAPI_OK(r1vk_session_create(l.model, &s));
    capi_test::set_greedy(s);
    CAPI_OK(r1vk_session_feed_tokens(s, p.data(), p.size()));
    std::vector<int32_t> got;
    for (int i = 0; i < steps; ++i) {
      int32_t t = -1;
      int ready = 0;
      CAPI_OK(r1vk_session_submit_step(s));
      while (!ready) CAPI_OK(r1vk_session_poll(s, &t, &ready));
      got.push_back(t);
    }
    alone.push_back(got);
    r1vk_session_destroy(s);
  }
  r1vk_batch* batch = nullptr;
  CHECK(r1vk_batch_create(l.model, 0, &batch) == R1VK_ERROR_INVALID_ARGUMENT);
  CAPI_OK(r1vk_batch_create(l.model, 4, &batch));
  std::vector<r1vk_session*> ss(prompts.size());
  for (size_t i = 0; i < prompts.size(); ++i) {
    CAPI_OK(r1vk_batch_session_create(batch, &ss[i]));
    capi_test::set_greedy(ss[i]);
  }
  int32_t out[3] = {-1, -1, -1};
  CHECK(r1vk_batch_step(batch, ss.data(), ss.size(), out) == R1VK_ERROR_INVALID_ARGUMENT);  // nothing fed yet
  for (size_t i = 0; i < prompts.size(); ++i) CAPI_OK(r1vk_session_feed_tokens(ss[i], prompts[i].data(), prompts[i].size()));
  r1vk_session* twice[2] = {ss[0], ss[0]};
  CHECK(r1vk_batch_step(batch, twice, 2, out) == R1VK_ERROR_INVALID_ARGUMENT);
  r1vk_session* solo = nullptr;
  CAPI_OK(r1vk_session_create(l.model, &solo));
  r1vk_session* foreign[1] = {solo};
  CHECK(r1vk_batch_step(batch, foreign, 1, out) == R1VK_ERROR_INVALID_ARGUMENT);
  r1vk_session_destroy(solo);
  std::vector<std::vector<int32_t>> together(prompts.size());
  for (int i = 0; i < steps; ++i) {
    CAPI_OK(r1vk_batch_step(batch, ss.data(), ss.size(), out));
    for (size_t k = 0; k < ss.size(); ++k) together[k].push_back(out[k]);
  }
  CHECK(together == alone);
  int64_t pos = 0, ctx = 0;
  CAPI_OK(r1vk_session_position(ss[1], &pos, &ctx));
  CHECK(pos == static_cast<int64_t>(prompts[1].size()) + steps);
  r1vk_batch_destroy(batch);  // the sessions keep the executor alive
  CHECK(r1vk_batch_step(nullptr, ss.data(), 1, out) == R1VK_ERROR_INVALID_ARGUMENT);
  for (auto* s : ss) r1vk_session_destroy(s);
}

}  // namespace
