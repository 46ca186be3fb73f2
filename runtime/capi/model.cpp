// Models: loading a plan with progress and cancellation, info queries, tokenize/detokenize.
#include <algorithm>
#include <cstddef>
#include <cstring>
#include <filesystem>

#include "base/json_util.h"
#include "capi/device_call.h"
#include "capi/errors.h"
#include "capi/handles.h"
#include "exec/executor_memory.h"
#include "exec/session.h"
#include "plan/loaded_plan.h"

namespace r1vk::capi {
namespace {

// The checkpoint config's facts the info query reports; absent fields stay empty.
void read_config(const std::string& config_json, ModelState& m) {
  auto parsed = parse_json(config_json, "config.json in the plan");
  if (!parsed.ok() || !parsed->is_object()) return;
  const auto& j = *parsed;
  if (auto it = j.find("model_type"); it != j.end() && it->is_string()) m.architecture = it->get<std::string>();
  if (auto it = j.find("num_hidden_layers"); it != j.end() && it->is_number_integer()) m.layers = it->get<int64_t>();
}

struct LoadProgress {
  const r1vk_model_options* options = nullptr;
  bool cancelled = false;
  void report(float fraction, r1vk_load_stage stage) {
    if (options && options->progress && !cancelled && !options->progress(fraction, stage, options->progress_user_data))
      cancelled = true;
  }
};

r1vk_status load(r1vk_context* context, const char* path, const r1vk_model_options* options, r1vk_model** out) {
  LoadProgress progress{options};
  std::error_code ec;
  if (std::filesystem::is_directory(path, ec))
    return fail(R1VK_ERROR_INVALID_ARGUMENT, std::string(path) + " is a directory: compile the checkpoint into a plan first (r1vk compile " +
                                                 path + " -o model.r1vk) and load the plan file");
  progress.report(0.0f, R1VK_LOAD_OPENING);
  if (progress.cancelled) return fail(R1VK_ERROR_CANCELLED, "loading the model was cancelled");
  auto plan = plan::LoadedPlan::open(path);
  if (!plan.ok()) return fail(plan.error());
  if (!plan->manifest().has_tokenizer())
    return fail(R1VK_ERROR_UNSUPPORTED, std::string(path) + " has no tokenizer: the C API needs a plan compiled from a checkpoint with tokenizer.json");

  auto state = std::make_shared<ModelState>();
  state->context = context->state;
  state->name = plan->manifest().model_name;
  read_config(plan->manifest().config_json, *state);
  auto tok = text::Tokenizer::from_json(plan->manifest().tokenizer_json, plan->manifest().tokenizer_config_json);
  if (!tok.ok()) return fail(std::move(tok).error().with_context(path));
  state->tokenizer = std::make_unique<text::Tokenizer>(std::move(tok).value());
  if (auto chat = text::R1ChatFormat::from_tokenizer(*state->tokenizer); chat.ok()) state->chat = std::move(chat).value();

  exec::ModelOptions mo;
  mo.context = options ? options->context_length : 0;
  if (options && options->expert_counts_path) mo.expert_counts_path = options->expert_counts_path;
  // Room for the sessions the host will create, as separate sessions or one batch, whichever
  // takes more; draft options a session would refuse reserve one plain session (it reports them).
  const uint64_t sessions = std::max<uint32_t>(1, options ? options->reserve_sessions : 1);
  const int32_t drafts = options ? options->reserve_draft_tokens : -1;
  mo.reserve = [sessions, drafts](const exec::Model& m) -> uint64_t {
    exec::SessionOptions so;
    so.draft_tokens = drafts;
    if (!exec::Session::executor_options(m, so).ok()) so.draft_tokens = -1;
    auto bo = exec::Session::executor_options(m, so);
    if (!bo.ok()) return 0;
    const uint64_t one = exec::executor_device_bytes(m, *bo);
    exec::BatchOptions batch = *bo;
    batch.max_batch = static_cast<uint32_t>(std::min<uint64_t>(sessions, exec::step_rows(m)));
    return std::max(one * sessions, exec::executor_device_bytes(m, batch));
  };
  mo.progress = [&](uint64_t done, uint64_t total) {
    progress.report(total ? static_cast<float>(static_cast<double>(done) / static_cast<double>(total)) : 1.0f, R1VK_LOAD_UPLOADING);
  };
  mo.cancelled = [&] { return progress.cancelled; };
  DeviceCall call(*context->state);
  if (r1vk_status st = call.refuse_if_lost(); st != R1VK_OK) return st;
  auto model = exec::Model::load(*context->state->context, std::move(plan).value(), mo);
  if (!model.ok()) return fail(std::move(model).error().with_context(std::string("loading ") + path));
  state->model = std::move(model).value();
  // Never sample an id the tokenizer cannot decode (the padding rows of the vocabulary).
  state->model->attention().set_sample_vocab_limit(static_cast<uint32_t>(state->tokenizer->id_limit()));
  progress.report(1.0f, R1VK_LOAD_DONE);
  auto handle = std::make_unique<r1vk_model>();
  handle->state = std::move(state);
  *out = handle.release();
  return R1VK_OK;
}

}  // namespace
}  // namespace r1vk::capi

using namespace r1vk::capi;  // NOLINT: the C entry points below are thin shims

extern "C" {

R1VK_EXPORT void r1vk_model_options_init(r1vk_model_options* o) {
  if (!o) return;
  *o = r1vk_model_options{};
  o->struct_size = sizeof(*o);
  o->reserve_sessions = 1;
  o->reserve_draft_tokens = -1;
}

R1VK_EXPORT r1vk_status r1vk_model_load(r1vk_context* context, const char* path, const r1vk_model_options* options,
                                        r1vk_model** out_model) {
  return guarded([&] {
    R1VK_CAPI_REQUIRE(out_model);
    *out_model = nullptr;
    R1VK_CAPI_REQUIRE(context);
    R1VK_CAPI_REQUIRE(path);
    // The struct as it was before the reserve fields is still accepted (they take their defaults).
    if (options && options->struct_size < offsetof(r1vk_model_options, reserve_sessions))
      return fail(R1VK_ERROR_INVALID_ARGUMENT, "r1vk_model_options.struct_size is too small: initialise it with r1vk_model_options_init");
    r1vk_model_options o;
    r1vk_model_options_init(&o);
    if (options) std::memcpy(&o, options, std::min<size_t>(options->struct_size, sizeof(o)));
    if (o.context_length < 0) return fail(R1VK_ERROR_INVALID_ARGUMENT, "context_length must not be negative");
    if (o.reserve_sessions > 4096) {
      return fail(R1VK_ERROR_INVALID_ARGUMENT, "reserve_sessions " + std::to_string(o.reserve_sessions) + " is out of range (0..4096)");
    }
    if (o.reserve_draft_tokens < -1 || o.reserve_draft_tokens > static_cast<int32_t>(r1vk::exec::kMaxDraftTokens)) {
      return fail(R1VK_ERROR_INVALID_ARGUMENT, "reserve_draft_tokens must be -1 (default), 0 (off) or 1.." +
                                                   std::to_string(r1vk::exec::kMaxDraftTokens) + ", not " +
                                                   std::to_string(o.reserve_draft_tokens));
    }
    return load(context, path, &o, out_model);
  });
}

R1VK_EXPORT void r1vk_model_destroy(r1vk_model* model) {
  (void)guarded([&] {
    if (!model) return R1VK_OK;
    std::shared_ptr<ContextState> context = model->state->context;
    std::lock_guard<std::mutex> lock(context->mutex);
    delete model;
    return R1VK_OK;
  });
}

R1VK_EXPORT void r1vk_model_info_init(r1vk_model_info* info) {
  if (!info) return;
  *info = r1vk_model_info{};
  info->struct_size = sizeof(*info);
}

R1VK_EXPORT r1vk_status r1vk_model_get_info(const r1vk_model* model, r1vk_model_info* out_info) {
  return guarded([&] {
    R1VK_CAPI_REQUIRE(model);
    R1VK_CAPI_REQUIRE(out_info);
    if (out_info->struct_size < sizeof(r1vk_model_info))
      return fail(R1VK_ERROR_INVALID_ARGUMENT, "r1vk_model_info.struct_size is too small: initialise it with r1vk_model_info_init");
    const ModelState& m = *model->state;
    out_info->architecture = m.architecture.c_str();
    out_info->name = m.name.c_str();
    out_info->vocab_size = m.model->vocab_size();
    out_info->context_length = m.model->context_length();
    out_info->max_context_length = m.model->manifest().memory.max_context;
    out_info->layers = m.layers;
    out_info->bos_token = m.tokenizer->bos_id() ? static_cast<int32_t>(*m.tokenizer->bos_id()) : -1;
    out_info->eos_token = m.tokenizer->eos_id() ? static_cast<int32_t>(*m.tokenizer->eos_id()) : -1;
    out_info->weight_bytes = m.model->weights().device_bytes();
    out_info->host_weight_bytes = m.model->weights().host_bytes();
    out_info->routed_experts = m.model->memory_layout().experts.experts;
    out_info->routed_experts_on_device = m.model->memory_layout().experts.experts_on_device;
    return R1VK_OK;
  });
}

R1VK_EXPORT r1vk_status r1vk_tokenize(const r1vk_model* model, const char* text, size_t text_length, int flags,
                                      int32_t* out_tokens, size_t capacity, size_t* out_count) {
  return guarded([&] {
    R1VK_CAPI_REQUIRE(model);
    R1VK_CAPI_REQUIRE(out_count);
    *out_count = 0;
    if (!text && text_length > 0) return fail(R1VK_ERROR_INVALID_ARGUMENT, "text must not be NULL");
    if (!out_tokens && capacity > 0) return fail(R1VK_ERROR_INVALID_ARGUMENT, "out_tokens must not be NULL");
    if (flags & ~(R1VK_TOKENIZE_PARSE_SPECIAL | R1VK_TOKENIZE_ADD_SPECIAL))
      return fail(R1VK_ERROR_INVALID_ARGUMENT, "unknown r1vk_tokenize flags " + std::to_string(flags));
    r1vk::text::EncodeOptions eo;
    eo.recognize_special = (flags & R1VK_TOKENIZE_PARSE_SPECIAL) != 0;
    eo.add_special_tokens = (flags & R1VK_TOKENIZE_ADD_SPECIAL) != 0;
    auto ids = model->state->tokenizer->encode(std::string_view(text ? text : "", text_length), eo);
    if (!ids.ok()) return fail(ids.error());
    *out_count = ids->size();
    for (size_t i = 0; i < ids->size() && i < capacity; ++i) out_tokens[i] = static_cast<int32_t>((*ids)[i]);
    if (ids->size() > capacity)
      return fail(R1VK_ERROR_BUFFER_TOO_SMALL, "the text has " + std::to_string(ids->size()) + " tokens, the buffer room for " +
                                                   std::to_string(capacity));
    return R1VK_OK;
  });
}

R1VK_EXPORT r1vk_status r1vk_detokenize(const r1vk_model* model, const int32_t* tokens, size_t count, char* out_text,
                                        size_t capacity, size_t* out_length) {
  return guarded([&] {
    R1VK_CAPI_REQUIRE(model);
    R1VK_CAPI_REQUIRE(out_length);
    *out_length = 0;
    if (!tokens && count > 0) return fail(R1VK_ERROR_INVALID_ARGUMENT, "tokens must not be NULL");
    if (!out_text && capacity > 0) return fail(R1VK_ERROR_INVALID_ARGUMENT, "out_text must not be NULL");
    const auto& tok = *model->state->tokenizer;
    std::vector<r1vk::text::TokenId> ids;
    ids.reserve(count);
    for (size_t i = 0; i < count; ++i) {
      if (tokens[i] < 0 || tokens[i] >= model->state->model->vocab_size())
        return fail(R1VK_ERROR_INVALID_ARGUMENT, "token " + std::to_string(tokens[i]) + " (at " + std::to_string(i) + ") is not in the vocabulary");
      // A padding row of the model's vocabulary (no tokenizer id) stands for no text.
      if (tok.is_valid_id(static_cast<r1vk::text::TokenId>(tokens[i]))) ids.push_back(static_cast<r1vk::text::TokenId>(tokens[i]));
    }
    auto text = tok.decode(ids);
    if (!text.ok()) return fail(text.error());
    *out_length = text->size();
    if (text->size() + 1 > capacity) {
      if (capacity > 0) std::memcpy(out_text, text->data(), std::min(capacity, text->size()));
      return fail(R1VK_ERROR_BUFFER_TOO_SMALL, "the text needs " + std::to_string(text->size() + 1) + " bytes with its NUL, the buffer has " +
                                                   std::to_string(capacity));
    }
    std::memcpy(out_text, text->data(), text->size());
    out_text[text->size()] = '\0';
    return R1VK_OK;
  });
}

}  // extern "C"
