// Sessions: creation, sampling settings, feeding tokens or chat messages, reset and queries.
#include <chrono>
#include <thread>

#include "api/generation_options.h"
#include "capi/device_call.h"
#include "capi/session_util.h"
#include "exec/batch_executor.h"

namespace r1vk::capi {

r1vk_status check_session_options(const r1vk_session_options& options) {
  if (options.struct_size < sizeof(r1vk_session_options))
    return fail(R1VK_ERROR_INVALID_ARGUMENT,
                "r1vk_session_options.struct_size is too small: initialise it with r1vk_session_options_init");
  if (options.draft_tokens < -1 || options.draft_tokens > static_cast<int32_t>(r1vk::exec::kMaxDraftTokens))
    return fail(R1VK_ERROR_INVALID_ARGUMENT, "draft_tokens must be -1 (default), 0 (off) or 1.." +
                                                 std::to_string(r1vk::exec::kMaxDraftTokens) + " drafts per step, not " +
                                                 std::to_string(options.draft_tokens));
  return R1VK_OK;
}

r1vk_status check_room(const SessionState& s, size_t count) {
  const int64_t pos = s.session->position(), ctx = s.session->context_length();
  if (static_cast<int64_t>(count) > ctx - pos)
    return fail(R1VK_ERROR_CONTEXT_FULL, "context full: " + std::to_string(pos) + " + " + std::to_string(count) + " tokens exceed the " +
                                             std::to_string(ctx) + "-token context (reset the session)");
  return R1VK_OK;
}

r1vk_status feed(SessionState& s, std::span<const int32_t> tokens) {
  if (tokens.empty()) return fail(R1VK_ERROR_INVALID_ARGUMENT, "nothing to feed: the token list is empty");
  if (s.pending) return fail(R1VK_ERROR_BUSY, "a submitted step has not been polled to completion");
  if (r1vk_status st = check_room(s, tokens.size()); st != R1VK_OK) return st;
  const Status fed = s.session->feed(tokens, s.sampling);
  if (!fed.ok()) {
    // A failed submit leaves the cache in an unknown state past the old position.
    s.history.resize(static_cast<size_t>(s.session->position()));
    return fail(fed.error());
  }
  s.history.insert(s.history.end(), tokens.begin(), tokens.end());
  return R1VK_OK;
}

r1vk_status feed_reusing_prefix(SessionState& s, std::span<const int32_t> tokens) {
  if (tokens.empty()) return fail(R1VK_ERROR_INVALID_ARGUMENT, "nothing to feed: the token list is empty");
  if (s.pending) return fail(R1VK_ERROR_BUSY, "a submitted step has not been polled to completion");
  size_t common = 0;
  while (common < s.history.size() && common < tokens.size() && s.history[common] == tokens[common]) ++common;
  if (common == tokens.size()) --common;  // feed the last token again to sample a reply
  const std::span<const int32_t> rest = tokens.subspan(common);
  if (static_cast<int64_t>(tokens.size()) > s.session->context_length())
    return fail(R1VK_ERROR_CONTEXT_FULL, "context full: the conversation has " + std::to_string(tokens.size()) + " tokens, the context holds " +
                                             std::to_string(s.session->context_length()));
  if (Status r = s.session->rewind(static_cast<int64_t>(common)); !r.ok()) return fail(r.error());
  s.history.resize(common);
  return feed(s, rest);
}

r1vk_status publish_session(std::unique_ptr<SessionState> state, r1vk_session** out) {
  r1vk_sampling defaults;
  r1vk_sampling_init(&defaults);
  state->sampling = {defaults.temperature, defaults.top_p, defaults.top_k, defaults.seed};
  auto handle = std::make_unique<r1vk_session>();
  handle->state = std::move(state);
  *out = handle.release();
  return R1VK_OK;
}

}  // namespace r1vk::capi

using namespace r1vk::capi;  // NOLINT: the C entry points below are thin shims

extern "C" {

R1VK_EXPORT void r1vk_session_options_init(r1vk_session_options* options) {
  if (!options) return;
  *options = r1vk_session_options{};
  options->struct_size = sizeof(*options);
  options->draft_tokens = -1;
}

R1VK_EXPORT r1vk_status r1vk_session_create_with_options(r1vk_model* model, const r1vk_session_options* options,
                                                         r1vk_session** out_session) {
  return guarded([&] {
    R1VK_CAPI_REQUIRE(out_session);
    *out_session = nullptr;
    R1VK_CAPI_REQUIRE(model);
    R1VK_CAPI_REQUIRE(options);
    if (r1vk_status st = check_session_options(*options); st != R1VK_OK) return st;
    auto state = std::make_unique<SessionState>();
    state->model = model->state;
    DeviceCall call(*model->state->context);
    if (r1vk_status st = call.refuse_if_lost(); st != R1VK_OK) return st;
    r1vk::exec::SessionOptions so;
    so.draft_tokens = options->draft_tokens;
    auto session = r1vk::exec::Session::create(*model->state->model, so);
    if (!session.ok()) return fail(session.error());
    state->session = std::move(session).value();
    return publish_session(std::move(state), out_session);
  });
}

R1VK_EXPORT r1vk_status r1vk_session_create(r1vk_model* model, r1vk_session** out_session) {
  r1vk_session_options defaults;
  r1vk_session_options_init(&defaults);
  return r1vk_session_create_with_options(model, &defaults, out_session);
}

R1VK_EXPORT r1vk_status r1vk_session_draft_stats(const r1vk_session* session, uint64_t* out_proposed, uint64_t* out_accepted) {
  return guarded([&] {
    R1VK_CAPI_REQUIRE(session);
    const r1vk::exec::DraftStats d = session->state->session->draft_stats();
    if (out_proposed) *out_proposed = d.proposed;
    if (out_accepted) *out_accepted = d.accepted;
    return R1VK_OK;
  });
}

R1VK_EXPORT void r1vk_session_destroy(r1vk_session* session) {
  (void)guarded([&] {
    if (!session) return R1VK_OK;
    std::shared_ptr<ModelState> model = session->state->model;
    std::lock_guard<std::mutex> lock(model->context->mutex);
    // The device may still be running a submitted step on this session's buffers.
    if (session->state->pending) {
      const auto deadline = std::chrono::steady_clock::now() + std::chrono::minutes(2);
      while (std::chrono::steady_clock::now() < deadline) {
        auto done = session->state->session->poll();
        if (!done.ok() || *done) break;
        std::this_thread::sleep_for(std::chrono::microseconds(200));
      }
    }
    delete session;
    return R1VK_OK;
  });
}

R1VK_EXPORT void r1vk_sampling_init(r1vk_sampling* s) {
  if (!s) return;
  *s = r1vk_sampling{};
  s->struct_size = sizeof(*s);
  s->temperature = 0.6f;
  s->top_p = 0.95f;
}

R1VK_EXPORT r1vk_status r1vk_session_set_sampling(r1vk_session* session, const r1vk_sampling* sampling) {
  return guarded([&] {
    R1VK_CAPI_REQUIRE(session);
    R1VK_CAPI_REQUIRE(sampling);
    if (sampling->struct_size < sizeof(r1vk_sampling))
      return fail(R1VK_ERROR_INVALID_ARGUMENT, "r1vk_sampling.struct_size is too small: initialise it with r1vk_sampling_init");
    const r1vk::exec::Sampling checked{sampling->temperature, sampling->top_p, sampling->top_k, sampling->seed};
    // The same check and message as r1vk run / chat (api/generation_options.h).
    if (r1vk::Status valid = r1vk::api::validate_sampling(checked); !valid.ok()) return fail(valid.error());
    session->state->sampling = checked;
    return R1VK_OK;
  });
}

R1VK_EXPORT r1vk_status r1vk_session_feed_tokens(r1vk_session* session, const int32_t* tokens, size_t count) {
  return guarded([&] {
    R1VK_CAPI_REQUIRE(session);
    R1VK_CAPI_REQUIRE(tokens);
    SessionState& s = *session->state;
    DeviceCall call(*s.model->context);
    if (r1vk_status st = call.refuse_if_lost(); st != R1VK_OK) return st;
    const r1vk_status st = feed(s, std::span<const int32_t>(tokens, count));
    if (st == R1VK_OK) {
      // A prompt rendered by the caller may end by opening the reasoning ("<think>\n") as R1's
      // template does; the reply then starts inside it.
      const auto think = s.model->tokenizer->find_token("<think>");
      s.opened_think = false;
      for (size_t i = count > 2 ? count - 2 : 0; think && i < count; ++i)
        if (tokens[i] == static_cast<int32_t>(*think)) s.opened_think = true;
    }
    return st;
  });
}

R1VK_EXPORT r1vk_status r1vk_session_feed_chat(r1vk_session* session, const r1vk_chat_message* messages, size_t count) {
  return guarded([&] {
    R1VK_CAPI_REQUIRE(session);
    R1VK_CAPI_REQUIRE(messages);
    if (count == 0) return fail(R1VK_ERROR_INVALID_ARGUMENT, "the conversation has no messages");
    SessionState& s = *session->state;
    if (!s.model->chat)
      return fail(R1VK_ERROR_UNSUPPORTED, "this model's tokenizer lacks the R1 chat tokens: feed raw tokens instead");
    std::vector<r1vk::text::ChatMessage> chat;
    for (size_t i = 0; i < count; ++i) {
      if (!messages[i].role || !messages[i].content)
        return fail(R1VK_ERROR_INVALID_ARGUMENT, "message " + std::to_string(i) + " has a NULL role or content");
      auto role = r1vk::text::parse_chat_role(messages[i].role);
      if (!role.ok()) return fail(std::move(role).error().with_context("message " + std::to_string(i)));
      chat.push_back({*role, messages[i].content});
    }
    auto ids = s.model->chat->encode(chat, /*add_generation_prompt=*/true);
    if (!ids.ok()) return fail(ids.error());
    std::vector<int32_t> tokens(ids->begin(), ids->end());
    DeviceCall call(*s.model->context);
    if (r1vk_status st = call.refuse_if_lost(); st != R1VK_OK) return st;
    const r1vk_status st = feed_reusing_prefix(s, tokens);
    if (st == R1VK_OK) s.opened_think = true;
    return st;
  });
}

R1VK_EXPORT r1vk_status r1vk_session_last_token(const r1vk_session* session, int32_t* out_token) {
  return guarded([&] {
    R1VK_CAPI_REQUIRE(session);
    R1VK_CAPI_REQUIRE(out_token);
    *out_token = session->state->session->last_token();
    return R1VK_OK;
  });
}

R1VK_EXPORT r1vk_status r1vk_session_position(const r1vk_session* session, int64_t* out_position, int64_t* out_context_length) {
  return guarded([&] {
    R1VK_CAPI_REQUIRE(session);
    if (out_position) *out_position = session->state->session->position();
    if (out_context_length) *out_context_length = session->state->session->context_length();
    return R1VK_OK;
  });
}

R1VK_EXPORT r1vk_status r1vk_session_reset(r1vk_session* session) {
  return guarded([&] {
    R1VK_CAPI_REQUIRE(session);
    SessionState& s = *session->state;
    DeviceCall call(*s.model->context);
    if (r1vk_status st = call.refuse_if_lost(); st != R1VK_OK) return st;
    if (s.pending) return fail(R1VK_ERROR_BUSY, "a submitted step has not been polled to completion");
    s.session->reset();
    s.history.clear();
    s.opened_think = false;
    return R1VK_OK;
  });
}

}  // extern "C"
