// Batches: sessions sharing one BatchExecutor, and the step that decodes several of them in one
// submit (exec::Session::step_together), each verifying its MTP draft unless turned off.
#include <algorithm>
#include <vector>

#include "capi/device_call.h"
#include "capi/session_util.h"

using namespace r1vk::capi;  // NOLINT: the C entry points below are thin shims

extern "C" {

R1VK_EXPORT r1vk_status r1vk_batch_create_with_options(r1vk_model* model, uint32_t max_sessions,
                                                       const r1vk_session_options* options, r1vk_batch** out_batch) {
  return guarded([&] {
    R1VK_CAPI_REQUIRE(out_batch);
    *out_batch = nullptr;
    R1VK_CAPI_REQUIRE(model);
    R1VK_CAPI_REQUIRE(options);
    if (r1vk_status st = check_session_options(*options); st != R1VK_OK) return st;
    auto state = std::make_shared<BatchState>();
    state->model = model->state;
    DeviceCall call(*model->state->context);
    if (r1vk_status st = call.refuse_if_lost(); st != R1VK_OK) return st;
    r1vk::exec::BatchOptions bo;
    bo.max_batch = max_sessions;
    // MTP drafts as a single session's (exec::SessionOptions::draft_tokens): -1 on where the plan has them.
    bo.draft_tokens = options->draft_tokens < 0 ? r1vk::exec::default_draft_tokens(*model->state->model)
                                                : static_cast<uint32_t>(options->draft_tokens);
    auto ex = r1vk::exec::BatchExecutor::create(*model->state->model, bo);
    if (!ex.ok()) return fail(ex.error());
    state->executor = std::move(ex).value();
    auto handle = std::make_unique<r1vk_batch>();
    handle->state = std::move(state);
    *out_batch = handle.release();
    return R1VK_OK;
  });
}

R1VK_EXPORT r1vk_status r1vk_batch_create(r1vk_model* model, uint32_t max_sessions, r1vk_batch** out_batch) {
  r1vk_session_options defaults;
  r1vk_session_options_init(&defaults);
  return r1vk_batch_create_with_options(model, max_sessions, &defaults, out_batch);
}

R1VK_EXPORT void r1vk_batch_destroy(r1vk_batch* batch) {
  (void)guarded([&] {
    if (!batch) return R1VK_OK;
    std::shared_ptr<ModelState> model = batch->state->model;
    std::lock_guard<std::mutex> lock(model->context->mutex);
    delete batch;  // the executor lives on while sessions of the batch hold it
    return R1VK_OK;
  });
}

R1VK_EXPORT r1vk_status r1vk_batch_session_create(r1vk_batch* batch, r1vk_session** out_session) {
  return guarded([&] {
    R1VK_CAPI_REQUIRE(out_session);
    *out_session = nullptr;
    R1VK_CAPI_REQUIRE(batch);
    auto state = std::make_unique<SessionState>();
    state->model = batch->state->model;
    state->batch = batch->state;
    DeviceCall call(*state->model->context);
    if (r1vk_status st = call.refuse_if_lost(); st != R1VK_OK) return st;
    auto session = r1vk::exec::Session::create_in(*state->model->model, batch->state->executor);
    if (!session.ok()) return fail(session.error());
    state->session = std::move(session).value();
    return publish_session(std::move(state), out_session);
  });
}

R1VK_EXPORT r1vk_status r1vk_batch_step(r1vk_batch* batch, r1vk_session* const* sessions, size_t count,
                                        int32_t* out_tokens) {
  return guarded([&] {
    R1VK_CAPI_REQUIRE(batch);
    R1VK_CAPI_REQUIRE(sessions);
    R1VK_CAPI_REQUIRE(out_tokens);
    if (count == 0) return fail(R1VK_ERROR_INVALID_ARGUMENT, "no sessions to step");
    DeviceCall call(*batch->state->model->context);
    if (r1vk_status st = call.refuse_if_lost(); st != R1VK_OK) return st;
    std::vector<r1vk::exec::Session*> members;
    std::vector<r1vk::exec::Sampling> sampling;
    for (size_t i = 0; i < count; ++i) {
      if (!sessions[i]) return fail(R1VK_ERROR_INVALID_ARGUMENT, "sessions[" + std::to_string(i) + "] is NULL");
      SessionState& s = *sessions[i]->state;
      if (s.batch != batch->state) return fail(R1VK_ERROR_INVALID_ARGUMENT, "sessions[" + std::to_string(i) + "] is not in this batch");
      if (s.pending) return fail(R1VK_ERROR_BUSY, "sessions[" + std::to_string(i) + "] has a step in flight");
      if (std::find(members.begin(), members.end(), s.session.get()) != members.end())
        return fail(R1VK_ERROR_INVALID_ARGUMENT, "sessions[" + std::to_string(i) + "] appears twice");
      if (r1vk_status st = check_room(s, 1); st != R1VK_OK) return st;
      members.push_back(s.session.get());
      sampling.push_back(s.sampling);
    }
    std::vector<int32_t> inputs;
    for (auto* m : members) inputs.push_back(m->last_token());
    auto tokens = r1vk::exec::Session::step_together(members, sampling);
    if (!tokens.ok()) return fail(tokens.error());
    for (size_t i = 0; i < count; ++i) {
      sessions[i]->state->history.push_back(inputs[i]);
      out_tokens[i] = (*tokens)[i];
    }
    return R1VK_OK;
  });
}

}  // extern "C"
