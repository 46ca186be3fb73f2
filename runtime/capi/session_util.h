// Helpers shared by the session entry points: finding a session's pieces, the context-full check
// and feeding tokens while keeping the session's token history in step with its KV cache.
#pragma once

#include <memory>
#include <span>

#include "capi/errors.h"
#include "capi/handles.h"

namespace r1vk::capi {

// R1VK_ERROR_INVALID_ARGUMENT (naming the field) for options a session or batch cannot take:
// a struct_size older than this header's, or draft_tokens outside -1..exec::kMaxDraftTokens.
r1vk_status check_session_options(const r1vk_session_options& options);

// R1VK_ERROR_CONTEXT_FULL (session unchanged) when `count` more tokens do not fit.
r1vk_status check_room(const SessionState& s, size_t count);

// Hands a new session to the caller: default sampling (r1vk_sampling_init), then the handle in
// *out. Shared by r1vk_session_create and r1vk_batch_session_create.
r1vk_status publish_session(std::unique_ptr<SessionState> state, r1vk_session** out);

// Feeds `tokens` at the current position and appends them to the history.
r1vk_status feed(SessionState& s, std::span<const int32_t> tokens);

// Feeds `tokens` as a whole conversation: keeps the longest cached prefix they share with the
// history, rewinds to it and feeds only the rest (at least one token, to sample from).
r1vk_status feed_reusing_prefix(SessionState& s, std::span<const int32_t> tokens);

}  // namespace r1vk::capi
