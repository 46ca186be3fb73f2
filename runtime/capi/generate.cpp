// Generation: the blocking loop with callbacks, stop strings and cancellation (on top of
// api::generate_after_feed), and the non-blocking submit/poll step for render loops.
#include "api/generation.h"
#include "api/generation_options.h"
#include "capi/device_call.h"
#include "capi/session_util.h"

namespace r1vk::capi {
namespace {

r1vk_finish_reason finish_of(api::FinishReason r) {
  switch (r) {
    case api::FinishReason::kEndOfSentence: return R1VK_FINISH_EOS;
    case api::FinishReason::kLength: return R1VK_FINISH_LENGTH;
    case api::FinishReason::kContextFull: return R1VK_FINISH_CONTEXT_FULL;
    case api::FinishReason::kCancelled: return R1VK_FINISH_CANCELLED;
    case api::FinishReason::kStopString: return R1VK_FINISH_STOP_STRING;
    case api::FinishReason::kStopped: return R1VK_FINISH_CALLBACK;
  }
  return R1VK_FINISH_EOS;
}

r1vk_status generate(SessionState& s, const r1vk_generate_options* o, r1vk_generate_result* out) {
  if (s.pending) return fail(R1VK_ERROR_BUSY, "a submitted step has not been polled to completion");
  if (s.session->last_token() < 0)
    return fail(R1VK_ERROR_INVALID_ARGUMENT, "nothing to generate from: feed a prompt (r1vk_session_feed_chat or _feed_tokens) first");
  api::GenerationOptions go;
  go.sampling = s.sampling;
  go.prompt_opened_think = s.opened_think;
  if (o) {
    go.max_tokens = o->max_tokens;
    for (size_t i = 0; i < o->stop_string_count; ++i) go.stop_strings.emplace_back(o->stop_strings[i]);
  }
  // Checked again inside generate_after_feed; here so a bad value is refused before anything else.
  if (Status valid = api::validate_generation_options(go); !valid.ok()) return fail(valid.error());
  const auto eos = s.model->tokenizer->eos_id();
  if (!eos) return fail(R1VK_ERROR_UNSUPPORTED, "the model's tokenizer has no end-of-sentence token");

  // Tokens in generation order; the first `steps` of them were fed back by decode steps and are
  // in the KV cache, which the history must mirror.
  std::vector<int32_t> generated;
  std::string reasoning, answer;
  go.on_token = [&](int32_t token, const std::vector<text::TextPiece>& released) {
    if (token >= 0) generated.push_back(token);
    if (!o || !o->on_token) return true;
    reasoning.clear();
    answer.clear();
    for (const auto& p : released) (p.kind == text::TextKind::kReasoning ? reasoning : answer) += p.text;
    const r1vk_token_event event{token, reasoning.c_str(), reasoning.size(), answer.c_str(), answer.size()};
    return o->on_token(&event, o->user_data) != 0;
  };
  const int64_t start = s.session->position();
  auto stats = api::generate_after_feed(*s.session, *s.model->tokenizer, *eos, go, {}, &s.cancel);
  s.cancel.store(false);  // a cancel request is consumed by the generation it ended (or reached)
  const auto steps = static_cast<size_t>(s.session->position() - start);
  s.history.insert(s.history.end(), generated.begin(), generated.begin() + static_cast<std::ptrdiff_t>(std::min(steps, generated.size())));
  if (!stats.ok()) return fail(stats.error());
  if (out) {
    out->finish = finish_of(stats->finish);
    out->generated_tokens = stats->generated_tokens;
    out->seconds = stats->generation_seconds;
  }
  return R1VK_OK;
}

}  // namespace
}  // namespace r1vk::capi

using namespace r1vk::capi;  // NOLINT: the C entry points below are thin shims

extern "C" {

R1VK_EXPORT void r1vk_generate_options_init(r1vk_generate_options* o) {
  if (!o) return;
  *o = r1vk_generate_options{};
  o->struct_size = sizeof(*o);
  o->max_tokens = 2048;
}

R1VK_EXPORT void r1vk_generate_result_init(r1vk_generate_result* r) {
  if (!r) return;
  *r = r1vk_generate_result{};
  r->struct_size = sizeof(*r);
}

R1VK_EXPORT r1vk_status r1vk_session_generate(r1vk_session* session, const r1vk_generate_options* options,
                                              r1vk_generate_result* out_result) {
  return guarded([&] {
    R1VK_CAPI_REQUIRE(session);
    if (options) {
      if (options->struct_size < sizeof(r1vk_generate_options))
        return fail(R1VK_ERROR_INVALID_ARGUMENT, "r1vk_generate_options.struct_size is too small: initialise it with r1vk_generate_options_init");
      if (options->stop_string_count > 0 && !options->stop_strings)
        return fail(R1VK_ERROR_INVALID_ARGUMENT, "stop_strings is NULL but stop_string_count is not 0");
      for (size_t i = 0; i < options->stop_string_count; ++i)
        if (!options->stop_strings[i]) return fail(R1VK_ERROR_INVALID_ARGUMENT, "stop string " + std::to_string(i) + " is NULL");
    }
    if (out_result && out_result->struct_size < sizeof(r1vk_generate_result))
      return fail(R1VK_ERROR_INVALID_ARGUMENT, "r1vk_generate_result.struct_size is too small: initialise it with r1vk_generate_result_init");
    SessionState& s = *session->state;
    DeviceCall call(*s.model->context);
    if (r1vk_status st = call.refuse_if_lost(); st != R1VK_OK) return st;
    return generate(s, options, out_result);
  });
}

R1VK_EXPORT r1vk_status r1vk_session_cancel(r1vk_session* session) {
  return guarded([&] {
    R1VK_CAPI_REQUIRE(session);
    session->state->cancel.store(true);
    return R1VK_OK;
  });
}

R1VK_EXPORT r1vk_status r1vk_session_submit_step(r1vk_session* session) {
  return guarded([&] {
    R1VK_CAPI_REQUIRE(session);
    SessionState& s = *session->state;
    DeviceCall call(*s.model->context);
    if (r1vk_status st = call.refuse_if_lost(); st != R1VK_OK) return st;
    if (s.pending) return fail(R1VK_ERROR_BUSY, "a step is already in flight: poll it to completion first");
    if (s.session->last_token() < 0) return fail(R1VK_ERROR_INVALID_ARGUMENT, "nothing to continue from: feed a prompt first");
    if (r1vk_status st = check_room(s, 1); st != R1VK_OK) return st;
    const int32_t input = s.session->last_token();
    if (r1vk::Status r = s.session->submit_step(s.sampling); !r.ok()) return fail(r.error());
    s.pending = true;
    s.history.push_back(input);
    return R1VK_OK;
  });
}

R1VK_EXPORT r1vk_status r1vk_session_poll(r1vk_session* session, int32_t* out_token, int* out_ready) {
  return guarded([&] {
    R1VK_CAPI_REQUIRE(session);
    R1VK_CAPI_REQUIRE(out_ready);
    *out_ready = 0;
    SessionState& s = *session->state;
    // Never wait: if another call holds the device, the step is reported as not ready yet.
    DeviceCall call(*s.model->context, std::try_to_lock);
    if (!call.owns_lock()) return R1VK_OK;
    if (r1vk_status st = call.refuse_if_lost(); st != R1VK_OK) {
      s.pending = false;  // the lost device runs nothing more
      return st;
    }
    if (s.pending) {
      auto done = s.session->poll();
      if (!done.ok()) {
        s.pending = false;
        s.history.resize(static_cast<size_t>(s.session->position()));
        return fail(done.error());
      }
      if (!*done) return R1VK_OK;
      s.pending = false;
    }
    *out_ready = 1;
    if (out_token) *out_token = s.session->last_token();
    return R1VK_OK;
  });
}

}  // extern "C"
