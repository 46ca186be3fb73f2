#include "serve/engine.h"

#include <algorithm>

namespace r1vk::serve {

Engine::Engine(StepRunner& runner, const text::Tokenizer& tokenizer, text::TokenId end_of_sentence, const EngineOptions& options)
    : runner_(runner), tokenizer_(tokenizer), eos_(end_of_sentence), scheduler_(options.scheduler) {
  metrics_.kv_blocks_total = runner_.total_blocks();
}

Engine::~Engine() { stop(); }

void Engine::start() {
  std::lock_guard lock(mutex_);
  if (thread_.joinable() || stopping_) return;
  thread_ = std::thread([this] { loop(); });
}

void Engine::stop() {
  {
    std::lock_guard lock(mutex_);
    stopping_ = true;
  }
  wake_.notify_all();
  if (thread_.joinable()) thread_.join();
  // Without a loop thread (never started, or it has ended) the requests are finished here.
  std::lock_guard lock(mutex_);
  std::vector<Sequence*> left;
  for (auto& [id, s] : sequences_) left.push_back(s.get());
  for (Sequence* s : left) finish(s, FinishReason::kCancelled);
  update_gauges();
}

void Engine::notify() { wake_.notify_all(); }

std::string Engine::device_failure() const {
  std::lock_guard lock(mutex_);
  return device_failure_;
}

Result<std::shared_ptr<RequestStream>> Engine::submit(GenerationRequest r) {
  if (r.prompt.empty()) return make_error(ErrorCode::kInvalidArgument, "the prompt is empty");
  if (r.max_tokens < 1) return make_error(ErrorCode::kInvalidArgument, "max_tokens must be at least 1");
  const int64_t room = runner_.context_length() - static_cast<int64_t>(r.prompt.size());
  if (room < 1) {
    return make_error(ErrorCode::kOutOfRange, "the prompt is " + std::to_string(r.prompt.size()) + " tokens; the context holds " +
                                                  std::to_string(runner_.context_length()) + " including at least one generated token");
  }
  auto s = std::make_unique<Sequence>();
  s->prompt = std::move(r.prompt);
  s->sampling = r.sampling;
  // A temperature this small is greedy in effect, and its reciprocal would overflow a float in
  // the sampler (vLLM draws the same line).
  if (s->sampling.temperature < 1e-5f) s->sampling.temperature = 0.0f;
  s->max_tokens = std::min(r.max_tokens, room);
  s->text = std::make_unique<OutputText>(tokenizer_, eos_, r.text);
  s->stream = std::make_shared<RequestStream>();
  s->submitted = Sequence::Clock::now();

  std::unique_lock lock(mutex_);
  if (stopping_) return make_error(ErrorCode::kCancelled, "the server is shutting down");
  if (!device_failure_.empty()) return make_error(ErrorCode::kVulkan, "the device failed: " + device_failure_);
  R1VK_TRY(scheduler_.enqueue(s.get(), runner_));
  s->request_id = next_id_++;
  auto stream = s->stream;
  sequences_.emplace(s->request_id, std::move(s));
  // Only the queue gauge: the runner's block count is read on the loop thread, which may be in
  // the middle of a step right now.
  metrics_.waiting = scheduler_.waiting();
  lock.unlock();
  wake_.notify_all();
  return stream;
}

void Engine::loop() {
  std::unique_lock lock(mutex_);
  while (!stopping_) {
    drop_cancelled();
    if (scheduler_.running() == 0 && scheduler_.waiting() == 0) {
      wake_.wait(lock, [&] { return stopping_ || scheduler_.waiting() > 0; });
      continue;
    }
    run_step(lock);
  }
}

void Engine::drop_cancelled() {
  std::vector<Sequence*> cancelled;
  for (auto& [id, s] : sequences_) {
    if (s->stream->cancelled()) cancelled.push_back(s.get());
  }
  for (Sequence* s : cancelled) finish(s, FinishReason::kCancelled);
  if (!cancelled.empty()) update_gauges();
}

void Engine::fail_if_lost() {
  // A lost device stays lost, and so does a lost pipeline rank: fail what waits too, rather
  // than letting each request find out. The runner says so (StepRunner::lost()); the error's
  // code does not, as a Vulkan or I/O error may be one the next step survives.
  std::string why = runner_.lost();
  if (why.empty()) return;
  device_failure_ = std::move(why);
  std::vector<Sequence*> left;
  for (auto& [id, s] : sequences_) left.push_back(s.get());
  for (Sequence* s : left) finish(s, FinishReason::kError, "the device failed: " + device_failure_);
}

void Engine::run_step(std::unique_lock<std::mutex>& lock) {
  auto planned = scheduler_.schedule(runner_);
  if (!planned.ok()) {
    // A sequence could not be added (the runner refused): fail the head of the queue rather
    // than retrying it forever.
    if (!scheduler_.waiting_queue().empty()) finish(scheduler_.waiting_queue().front(), FinishReason::kError, planned.error().message());
    fail_if_lost();
    update_gauges();
    return;
  }
  std::vector<ScheduledSequence> plan = std::move(*planned);
  update_gauges();
  if (plan.empty()) {
    // Nothing can run (every waiting request needs blocks held by nobody): wait for news.
    wake_.wait_for(lock, std::chrono::milliseconds(50));
    return;
  }
  std::vector<StepEntry> entries;
  entries.reserve(plan.size());
  for (const auto& p : plan) {
    StepEntry e;
    e.seq = p.sequence->seq;
    e.sampling = p.sequence->sampling;
    e.drafts = p.drafts;
    if (p.prefill_tokens > 0) {
      e.tokens = std::span<const int32_t>(p.sequence->prompt).subspan(p.sequence->prefilled, p.prefill_tokens);
      e.sample = p.sequence->prefilled + p.prefill_tokens == p.sequence->prompt.size();
    }
    entries.push_back(e);
  }
  // Sequences are only finished by this thread, so the plan stays valid while unlocked; submit
  // and cancel can proceed meanwhile.
  lock.unlock();
  auto tokens = runner_.step(entries);
  lock.lock();
  ++metrics_.steps;
  if (!tokens.ok()) {
    for (const auto& p : plan) finish(p.sequence, FinishReason::kError, tokens.error().message());
    fail_if_lost();
    update_gauges();
    return;
  }
  for (size_t i = 0; i < plan.size(); ++i) {
    Sequence* s = plan[i].sequence;
    if (plan[i].prefill_tokens > 0) {
      s->prefilled += plan[i].prefill_tokens;
      if (!entries[i].sample) continue;
    }
    // After accepted MTP drafts several tokens: those after one that ends the request (end of
    // sentence, a stop string, max_tokens, the context's end) are dropped, never streamed; its
    // sequence and KV blocks go then.
    const std::vector<int32_t>& emitted = (*tokens)[i];
    for (size_t t = 0; t < emitted.size(); ++t) {
      if (!deliver(s, emitted[t], static_cast<int64_t>(emitted.size() - 1 - t))) break;
    }
  }
  const exec::DraftStats drafts = runner_.draft_stats();
  metrics_.draft_proposed = drafts.proposed;
  metrics_.draft_accepted = drafts.accepted;
  update_gauges();
}

bool Engine::deliver(Sequence* s, int32_t token, int64_t later) {
  const auto now = Sequence::Clock::now();
  if (s->generated == 0) {
    metrics_.time_to_first_token.observe(std::chrono::duration<double>(now - s->submitted).count());
  } else {
    metrics_.inter_token_latency.observe(std::chrono::duration<double>(now - s->last_token_at).count());
  }
  s->last_token_at = now;
  auto update = s->text->push(token);
  if (!update.ok()) {
    finish(s, FinishReason::kError, update.error().message());
    return false;
  }
  if (token != static_cast<int32_t>(eos_)) {
    ++s->generated;
    ++metrics_.generation_tokens;
    if (update->reasoning_token) ++s->reasoning_tokens;
  }
  s->stream->append(update->pieces);
  if (update->done) {
    finish(s, FinishReason::kStop);
    return false;
  }
  if (s->generated >= s->max_tokens || runner_.position(s->seq) - later + 1 > runner_.context_length()) {
    finish(s, FinishReason::kLength);
    return false;
  }
  return true;
}

void Engine::finish(Sequence* s, FinishReason reason, std::string error) {
  if (reason == FinishReason::kStop || reason == FinishReason::kLength) s->stream->append(s->text->finish());
  const bool ran = s->state == SequenceState::kRunning;
  scheduler_.remove(s, runner_);
  FinishInfo info;
  info.reason = reason;
  info.error = std::move(error);
  info.prompt_tokens = static_cast<int64_t>(s->prompt.size());
  info.completion_tokens = s->generated;
  info.reasoning_tokens = s->reasoning_tokens;
  if (ran) metrics_.prompt_tokens += s->prompt.size();
  switch (reason) {
    case FinishReason::kStop: ++metrics_.requests_stop; break;
    case FinishReason::kLength: ++metrics_.requests_length; break;
    case FinishReason::kCancelled: ++metrics_.requests_cancelled; break;
    case FinishReason::kError: ++metrics_.requests_error; break;
  }
  update_gauges();  // before the reader hears of it: /metrics is current when a reply ends
  s->stream->finish(std::move(info));
  sequences_.erase(s->request_id);
}

void Engine::update_gauges() {
  metrics_.waiting = scheduler_.waiting();
  metrics_.running = scheduler_.running();
  metrics_.kv_blocks_used = runner_.total_blocks() - runner_.free_blocks();
}

}  // namespace r1vk::serve
