#include "exec/session.h"

#include <cstring>

namespace r1vk::exec {
namespace {

constexpr uint64_t kTokensOffset = 256;

uint64_t align256(uint64_t v) { return (v + 255) / 256 * 256; }

}  // namespace

Result<std::unique_ptr<Session>> Session::create(Model& model, const SessionOptions& options) {
  std::unique_ptr<Session> s(new Session(model));
  s->options_ = options;
  vk::Context& ctx = model.context();
  const plan::Manifest& m = model.manifest();
  s->chunk_ = static_cast<uint32_t>(std::min<int64_t>(m.memory.prefill_chunk, model.context_length()));
  R1VK_ASSIGN_OR_RETURN(s->arena_, ctx.create_buffer(m.memory.arena_bytes, vk::MemoryUsage::kDeviceLocal, "activation arena"));
  const uint64_t layer_bytes = static_cast<uint64_t>(model.context_length() * m.memory.kv_width) * 2;
  for (int64_t l = 0; l < m.memory.kv_layers; ++l) {
    R1VK_ASSIGN_OR_RETURN(auto b, ctx.create_buffer(layer_bytes, vk::MemoryUsage::kDeviceLocal, "KV cache layer " + std::to_string(l)));
    s->kv_.push_back(std::move(b));
  }
  const uint64_t scratch = std::max(program_scratch_bytes(model, ProgramId::kMain, 1),
                                    program_scratch_bytes(model, ProgramId::kMain, s->chunk_));
  R1VK_ASSIGN_OR_RETURN(s->scratch_, ctx.create_buffer(scratch, vk::MemoryUsage::kDeviceLocal, "kernel scratch"));
  const uint32_t vocab = static_cast<uint32_t>(model.vocab_size());
  R1VK_ASSIGN_OR_RETURN(s->sample_scratch_, ctx.create_buffer(kernels::AttentionKernels::sample_scratch_bytes(vocab),
                                                              vk::MemoryUsage::kDeviceLocal, "sampler scratch"));
  R1VK_ASSIGN_OR_RETURN(s->io_, ctx.create_buffer(kTokensOffset + align256(s->chunk_ * 4) + 256, vk::MemoryUsage::kHostVisible,
                                                  "step I/O"));
  if (options.keep_logits) {
    R1VK_ASSIGN_OR_RETURN(s->readback_, ctx.create_buffer(static_cast<uint64_t>(s->chunk_) * vocab * 4,
                                                          vk::MemoryUsage::kHostVisible, "logits read-back"));
  }
  R1VK_ASSIGN_OR_RETURN(s->decode_cmd_, ctx.create_command_buffer());
  R1VK_ASSIGN_OR_RETURN(s->prefill_cmd_, ctx.create_command_buffer());
  if (options.profile) {
    R1VK_ASSIGN_OR_RETURN(s->decode_timestamps_,
                          vk::TimestampQueryPool::create(ctx.device(), static_cast<uint32_t>(m.main.ops.size() + 1)));
  }
  R1VK_TRY(s->record(s->decode_cmd_, 1, options.profile ? &s->decode_timestamps_ : nullptr));
  R1VK_TRY(s->record(s->prefill_cmd_, s->chunk_, nullptr));
  return s;
}

Status Session::record(vk::CommandBuffer& cmd, uint32_t max_tokens, const vk::TimestampQueryPool* timestamps) {
  const plan::Program& p = model_.manifest().main;
  const plan::Value& tokens = p.values[static_cast<size_t>(p.tokens_value)];
  const plan::Value& logits = p.values[static_cast<size_t>(p.logits_value)];
  const uint64_t sampled_offset = kTokensOffset + align256(chunk_ * 4);
  R1VK_TRY(cmd.begin(/*one_time=*/false));
  cmd.copy_buffer(io_.handle(), kTokensOffset, arena_.handle(), tokens.offset, max_tokens * 4);
  cmd.compute_barrier();
  ProgramBuffers b;
  b.arena = arena_.address();
  for (const auto& k : kv_) b.kv_layers.push_back(k.address());
  b.scratch = scratch_.address();
  b.scratch_size = scratch_.size();
  const kernels::StepView step{io_.address(), max_tokens};
  R1VK_TRY(record_program(model_, ProgramId::kMain, b, step, cmd, timestamps));
  model_.attention().set_sample_scratch(sample_scratch_.address());
  const kernels::ActView lv = act_view(p, {p.logits_value, 0, logits.width}, arena_.address());
  // The sampled token also lands in the token input slot, so the next decode step needs no host write.
  R1VK_TRY(model_.attention().record_sample(cmd, lv, io_.address() + sampled_offset, io_.address() + kTokensOffset, step));
  if (options_.keep_logits) {
    cmd.compute_barrier();
    cmd.copy_buffer(arena_.handle(), logits.offset, readback_.handle(), 0, static_cast<uint64_t>(max_tokens) * logits.width * 4);
  }
  cmd.compute_barrier();
  return cmd.end();
}

void Session::write_step(uint32_t n_tokens, const Sampling& sampling) {
  kernels::StepParams sp;
  sp.n_tokens = n_tokens;
  sp.pos0 = static_cast<uint32_t>(position_);
  sp.sample_row = n_tokens - 1;
  sp.rng_counter = rng_counter_++;
  sp.temperature = sampling.temperature;
  sp.top_p = sampling.top_p;
  sp.top_k = sampling.top_k;
  sp.seed = sampling.seed;
  std::memcpy(io_.mapped().data(), &sp, sizeof(sp));
}

Status Session::run_chunk(std::span<const int32_t> tokens, bool token_on_device, const Sampling& sampling,
                          std::vector<float>* logits, bool wait) {
  const uint32_t n = token_on_device ? 1 : static_cast<uint32_t>(tokens.size());
  if (position_ + n > model_.context_length()) {
    return make_error(ErrorCode::kOutOfRange, "context full: " + std::to_string(position_) + " + " + std::to_string(n) +
                                                  " tokens exceed the " + std::to_string(model_.context_length()) +
                                                  "-token context");
  }
  if (!token_on_device) std::memcpy(io_.mapped().data() + kTokensOffset, tokens.data(), n * 4);
  write_step(n, sampling);
  R1VK_TRY(model_.context().allocator().flush(io_.allocation(), 0, io_.size()));
  const vk::CommandBuffer& cmd = n == 1 ? decode_cmd_ : prefill_cmd_;
  R1VK_ASSIGN_OR_RETURN(pending_, model_.context().submit(cmd));
  pending_tokens_ = n;
  ++submits_;
  if (!wait) return ok_status();
  R1VK_TRY(model_.context().wait(pending_));
  return finish_chunk(n, logits);
}

Status Session::finish_chunk(uint32_t n, std::vector<float>* logits) {
  pending_ = 0;
  R1VK_TRY(model_.context().allocator().invalidate(io_.allocation(), 0, io_.size()));
  uint32_t token;
  std::memcpy(&token, io_.mapped().data() + kTokensOffset + align256(chunk_ * 4), 4);
  last_token_ = static_cast<int32_t>(token);
  position_ += n;
  if (logits && options_.keep_logits) {
    R1VK_TRY(model_.context().allocator().invalidate(readback_.allocation(), 0, readback_.size()));
    const size_t count = static_cast<size_t>(n) * static_cast<size_t>(model_.vocab_size());
    const auto* f = reinterpret_cast<const float*>(readback_.mapped().data());
    logits->insert(logits->end(), f, f + count);
  }
  return ok_status();
}

Status Session::feed(std::span<const int32_t> tokens, const Sampling& sampling, std::vector<float>* logits) {
  if (pending_) return make_error(ErrorCode::kInvalidArgument, "a submitted step has not been polled to completion");
  if (logits && !options_.keep_logits) return make_error(ErrorCode::kInvalidArgument, "session was created without keep_logits");
  const int64_t vocab = model_.vocab_size();
  for (int32_t t : tokens) {
    if (t < 0 || t >= vocab) {
      return make_error(ErrorCode::kInvalidArgument, "token " + std::to_string(t) + " is outside the vocabulary of " + std::to_string(vocab));
    }
  }
  if (position_ + static_cast<int64_t>(tokens.size()) > model_.context_length()) {
    return make_error(ErrorCode::kOutOfRange, "context full: " + std::to_string(position_) + " + " + std::to_string(tokens.size()) +
                                                  " tokens exceed the " + std::to_string(model_.context_length()) + "-token context");
  }
  for (size_t i = 0; i < tokens.size(); i += chunk_) {
    const size_t n = std::min<size_t>(chunk_, tokens.size() - i);
    R1VK_TRY(run_chunk(tokens.subspan(i, n), false, sampling, logits, true));
  }
  return ok_status();
}

Result<int32_t> Session::step(const Sampling& sampling, std::vector<float>* logits) {
  if (pending_) return make_error(ErrorCode::kInvalidArgument, "a submitted step has not been polled to completion");
  if (last_token_ < 0) return make_error(ErrorCode::kInvalidArgument, "nothing to continue from: feed a prompt first");
  R1VK_TRY(run_chunk({}, true, sampling, logits, true));
  return last_token_;
}

Status Session::submit_step(const Sampling& sampling) {
  if (pending_) return make_error(ErrorCode::kInvalidArgument, "a submitted step has not been polled to completion");
  if (last_token_ < 0) return make_error(ErrorCode::kInvalidArgument, "nothing to continue from: feed a prompt first");
  return run_chunk({}, true, sampling, nullptr, false);
}

Result<bool> Session::poll() {
  if (!pending_) return true;
  R1VK_ASSIGN_OR_RETURN(bool done, model_.context().is_complete(pending_));
  if (!done) return false;
  R1VK_TRY(finish_chunk(pending_tokens_, nullptr));
  return true;
}

Status Session::rewind(int64_t position) {
  if (pending_) return make_error(ErrorCode::kInvalidArgument, "a submitted step has not been polled to completion");
  if (position < 0 || position > position_) {
    return make_error(ErrorCode::kOutOfRange, "cannot rewind to position " + std::to_string(position) + " from " + std::to_string(position_));
  }
  position_ = position;
  last_token_ = -1;
  return ok_status();
}

Status Session::seek_for_benchmark(int64_t position) {
  if (pending_) return make_error(ErrorCode::kInvalidArgument, "a submitted step has not been polled to completion");
  if (position < 0 || position >= model_.context_length()) {
    return make_error(ErrorCode::kOutOfRange, "position " + std::to_string(position) + " is outside the " +
                                                  std::to_string(model_.context_length()) + "-token context");
  }
  position_ = position;
  if (last_token_ < 0) last_token_ = 0;
  return ok_status();
}

Result<std::vector<double>> Session::decode_op_times_ns() const {
  if (!options_.profile) return make_error(ErrorCode::kInvalidArgument, "session was created without profile");
  R1VK_ASSIGN_OR_RETURN(auto t, decode_timestamps_.read_ns());
  std::vector<double> d;
  for (size_t i = 1; i < t.size(); ++i) d.push_back(t[i] - t[i - 1]);
  return d;
}

void Session::reset() {
  position_ = 0;
  last_token_ = -1;
}

}  // namespace r1vk::exec
