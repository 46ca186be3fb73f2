// What the C API's opaque handles hold. Each handle owns a shared_ptr to its state, so handles can
// be destroyed in any order: a session keeps its model alive, a model its context. Members are
// declared so that destruction runs device users first (session -> model -> context).
#pragma once

#include <atomic>
#include <cstdint>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include "exec/batch_executor.h"
#include "exec/model.h"
#include "exec/session.h"
#include "r1vk/r1vk.h"
#include "text/chat_format.h"
#include "text/tokenizer.h"
#include "vulkan/context.h"

namespace r1vk::capi {

struct ContextState {
  std::unique_ptr<vk::Context> context;
  // Serialises every call that touches the device: Vulkan queues and r1vk's submit counter are
  // not thread-safe, and a host may drive several sessions from several threads.
  std::mutex mutex;
};

struct ModelState {
  std::shared_ptr<ContextState> context;  // first: destroyed last
  std::unique_ptr<text::Tokenizer> tokenizer;
  std::optional<text::R1ChatFormat> chat;  // refers to *tokenizer
  std::unique_ptr<exec::Model> model;
  std::string architecture;
  std::string name;
  int64_t layers = 0;
};

// An executor shared by the sessions created in an r1vk_batch.
struct BatchState {
  std::shared_ptr<ModelState> model;  // first: destroyed last
  std::shared_ptr<exec::BatchExecutor> executor;
};

struct SessionState {
  std::shared_ptr<ModelState> model;  // first: destroyed last
  std::shared_ptr<BatchState> batch;  // the batch the session was created in, or null
  std::unique_ptr<exec::Session> session;
  exec::Sampling sampling;
  std::atomic<bool> cancel{false};
  bool opened_think = false;     // the last feed ended with the chat template's "<think>\n"
  bool pending = false;          // a submit_step not yet polled to completion
  std::vector<int32_t> history;  // the tokens in the KV cache, position() of them
};

}  // namespace r1vk::capi

struct r1vk_context {
  std::shared_ptr<r1vk::capi::ContextState> state;
};

struct r1vk_model {
  std::shared_ptr<r1vk::capi::ModelState> state;
};

struct r1vk_batch {
  std::shared_ptr<r1vk::capi::BatchState> state;
};

struct r1vk_session {
  std::unique_ptr<r1vk::capi::SessionState> state;
};
