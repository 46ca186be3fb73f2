// r1vk_batch: sessions of one batch decoded together in one step give the tokens each gives alone
// (greedy), with MTP drafts or without, and bad calls are refused without changing any session.
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

TEST_CASE("a batch holds more sessions than max_sessions; they share its KV blocks, and running out is a clean error") {
  Loaded l;
  capi_test::load(l);
  r1vk_batch* batch = nullptr;
  CAPI_OK(r1vk_batch_create(l.model, 1, &batch));  // blocks for one full context
  r1vk_session* s[3] = {};
  for (auto*& x : s) CAPI_OK(r1vk_batch_session_create(batch, &x));
  int64_t pos = 0, ctx = 0;
  CAPI_OK(r1vk_session_position(s[0], &pos, &ctx));
  const std::vector<int32_t> prompt(static_cast<size_t>(ctx * 3 / 4), 7);
  CAPI_OK(r1vk_session_feed_tokens(s[0], prompt.data(), prompt.size()));
  CHECK(r1vk_session_feed_tokens(s[1], prompt.data(), prompt.size()) == R1VK_ERROR_OUT_OF_RANGE);
  const std::string why = r1vk_last_error();
  CHECK(why.find("KV cache full") != std::string::npos);
  CHECK(why.find("shared by every sequence") != std::string::npos);
  CAPI_OK(r1vk_session_position(s[1], &pos, &ctx));
  CHECK(pos == 0);  // the failed feed changed nothing
  CAPI_OK(r1vk_session_feed_tokens(s[2], prompt.data(), 8));  // a short one still fits
  r1vk_session_destroy(s[0]);  // frees its blocks
  CAPI_OK(r1vk_session_feed_tokens(s[1], prompt.data(), prompt.size()));
  CAPI_OK(r1vk_session_position(s[1], &pos, &ctx));
  CHECK(pos == static_cast<int64_t>(prompt.size()));
  r1vk_session_destroy(s[1]);
  r1vk_session_destroy(s[2]);
  r1vk_batch_destroy(batch);
}

// Steps `members` (indices into ss) of the batch together `count` times, appending each new token
// to its session's list.
void step_members(r1vk_batch* batch, const std::vector<r1vk_session*>& ss, const std::vector<size_t>& members, int count,
                  std::vector<std::vector<int32_t>>& got) {
  std::vector<r1vk_session*> sessions;
  for (size_t m : members) sessions.push_back(ss[m]);
  std::vector<int32_t> out(sessions.size(), -1);
  for (int i = 0; i < count; ++i) {
    CAPI_OK(r1vk_batch_step(batch, sessions.data(), sessions.size(), out.data()));
    for (size_t k = 0; k < members.size(); ++k) got[members[k]].push_back(out[k]);
  }
}

TEST_CASE("a batch verifies MTP drafts for every session: greedy tokens equal the batch's without MTP") {
  Loaded l;
  capi_test::load(l);
  const r1vk_chat_message questions[4][1] = {{{"user", "What is 31415 - 92653?"}}, {{"user", "What is 4512 + 873?"}},
                                             {{"user", "What is 271828 + 314159?"}}, {{"user", "What is 999 + 1?"}}};
  r1vk_session_options bad;
  r1vk_session_options_init(&bad);
  bad.draft_tokens = 9;  // more than the 8 drafts per step allowed
  r1vk_batch* refused = nullptr;
  CHECK(r1vk_batch_create_with_options(l.model, 4, &bad, &refused) == R1VK_ERROR_INVALID_ARGUMENT);
  CHECK(refused == nullptr);
  CHECK(r1vk_batch_create_with_options(l.model, 4, nullptr, &refused) == R1VK_ERROR_INVALID_ARGUMENT);
  // Both batches in the same pattern: all four sessions together, then only two of them (the
  // others keep any token their accepted draft queued), then all again.
  std::vector<std::vector<int32_t>> tokens[2];
  uint64_t proposed[2] = {0, 0}, accepted[2] = {0, 0};
  for (int mtp = 0; mtp < 2; ++mtp) {
    r1vk_session_options o;
    r1vk_session_options_init(&o);
    o.draft_tokens = mtp ? -1 : 0;  // -1: what r1vk_batch_create uses
    r1vk_batch* batch = nullptr;
    CAPI_OK(r1vk_batch_create_with_options(l.model, 4, &o, &batch));
    std::vector<r1vk_session*> ss(4);
    tokens[mtp].assign(4, {});
    for (size_t i = 0; i < ss.size(); ++i) {
      CAPI_OK(r1vk_batch_session_create(batch, &ss[i]));
      capi_test::set_greedy(ss[i]);
      CAPI_OK(r1vk_session_feed_chat(ss[i], questions[i], 1));
    }
    int64_t fed = 0, pos = 0, ctx = 0;
    CAPI_OK(r1vk_session_position(ss[3], &fed, &ctx));
    step_members(batch, ss, {0, 1, 2, 3}, 12, tokens[mtp]);
    step_members(batch, ss, {1, 3}, 5, tokens[mtp]);
    step_members(batch, ss, {0, 1, 2, 3}, 12, tokens[mtp]);
    CAPI_OK(r1vk_session_draft_stats(ss[0], &proposed[mtp], &accepted[mtp]));
    // Session 3 moved one position per token it was given, drafts or not.
    CAPI_OK(r1vk_session_position(ss[3], &pos, &ctx));
    CHECK(tokens[mtp][3].size() == 29);
    CHECK(pos == fed + 29);
    for (size_t i = 0; i < ss.size(); ++i) r1vk_session_destroy(ss[i]);
    r1vk_batch_destroy(batch);
  }
  CHECK(tokens[1] == tokens[0]);
  CHECK(proposed[0] == 0);
  // The demo model's drafts almost always stand (docs/speculative.md): most tokens came two per row.
  CHECK(proposed[1] > 20);
  CHECK(accepted[1] * 10 > proposed[1] * 8);
}

}  // namespace
