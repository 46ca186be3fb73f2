#include "mpi/mpi_pipeline.h"

#include <mpi.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <string>
#include <thread>

namespace r1vk::mpi {
namespace {

// Message tags: rank 0 -> all: commands; all -> rank 0: replies and step reports; rank r ->
// r + 1: hidden rows; last -> rank 0: tokens and logits.
enum Tag : int { kCommand = 1, kReply = 2, kHidden = 3, kTokens = 4, kLogits = 5, kProgress = 6 };
// Command kinds beyond exec::SequenceCommand's (0..4).
constexpr int64_t kStep = 10, kStop = 11;
constexpr size_t kEntryWords = 7;  // seq, tokens, sample, temperature bits, top_p bits, top_k, seed

using Clock = std::chrono::steady_clock;

Error mpi_error(int rc, const std::string& what) {
  char text[MPI_MAX_ERROR_STRING];
  int len = 0;
  MPI_Error_string(rc, text, &len);
  return make_error(ErrorCode::kIo, what + ": " + std::string(text, static_cast<size_t>(len)));
}

Error lost(int rank, double timeout_s, const std::string& waiting_for) {
  return make_error(ErrorCode::kIo, "pipeline rank " + std::to_string(rank) + " lost: no " + waiting_for + " within " +
                                        std::to_string(static_cast<int>(timeout_s)) + " s (the process died, hung or is unreachable)");
}

Clock::time_point deadline_after(double seconds) {
  return Clock::now() + std::chrono::duration_cast<Clock::duration>(std::chrono::duration<double>(seconds));
}

// Waits for a request until the deadline (none: forever), polling so that a dead peer cannot
// block this rank; `peer` names the rank in the error.
Status wait(MPI_Request& request, int peer, double timeout_s, bool forever, const std::string& what) {
  const auto deadline = deadline_after(timeout_s);
  auto pause = std::chrono::microseconds(20);
  for (;;) {
    int done = 0;
    const int rc = MPI_Test(&request, &done, MPI_STATUS_IGNORE);
    if (rc != MPI_SUCCESS) return mpi_error(rc, "pipeline rank " + std::to_string(peer) + ": " + what);
    if (done) return ok_status();
    if (!forever && Clock::now() > deadline) {
      MPI_Cancel(&request);
      return lost(peer, timeout_s, what);
    }
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(1000));
  }
}

template <typename T>
Status send(const std::vector<T>& data, MPI_Datatype type, int dest, int tag, double timeout_s, const std::string& what) {
  MPI_Request req;
  const int rc = MPI_Isend(data.data(), static_cast<int>(data.size()), type, dest, tag, MPI_COMM_WORLD, &req);
  if (rc != MPI_SUCCESS) return mpi_error(rc, "sending " + what + " to rank " + std::to_string(dest));
  return wait(req, dest, timeout_s, false, "acceptance of " + what);
}

// Receives a message of unknown length.
template <typename T>
Result<std::vector<T>> receive(MPI_Datatype type, int source, int tag, double timeout_s, bool forever, const std::string& what) {
  const auto deadline = deadline_after(timeout_s);
  auto pause = std::chrono::microseconds(20);
  MPI_Status status;
  for (;;) {
    int flag = 0;
    const int rc = MPI_Iprobe(source, tag, MPI_COMM_WORLD, &flag, &status);
    if (rc != MPI_SUCCESS) return mpi_error(rc, "waiting for " + what + " from rank " + std::to_string(source));
    if (flag) break;
    if (!forever && Clock::now() > deadline) return lost(source, timeout_s, what);
    std::this_thread::sleep_for(pause);
    pause = std::min(pause * 2, std::chrono::microseconds(1000));
  }
  int count = 0;
  MPI_Get_count(&status, type, &count);
  std::vector<T> out(static_cast<size_t>(count));
  const int rc = MPI_Recv(out.data(), count, type, source, tag, MPI_COMM_WORLD, MPI_STATUS_IGNORE);
  if (rc != MPI_SUCCESS) return mpi_error(rc, "receiving " + what + " from rank " + std::to_string(source));
  return out;
}

int64_t float_bits(float f) {
  uint32_t u;
  std::memcpy(&u, &f, 4);
  return u;
}

float bits_float(int64_t v) {
  const uint32_t u = static_cast<uint32_t>(v);
  float f;
  std::memcpy(&f, &u, 4);
  return f;
}

std::vector<int64_t> encode(const exec::SequenceCommand& c) {
  std::vector<int64_t> w = {c.kind, c.seq, c.value, static_cast<int64_t>(c.prompt.size())};
  w.insert(w.end(), c.prompt.begin(), c.prompt.end());
  return w;
}

Result<exec::SequenceCommand> decode_command(const std::vector<int64_t>& w) {
  if (w.size() < 4 || w.size() != 4 + static_cast<size_t>(w[3])) return make_error(ErrorCode::kCorruptData, "malformed sequence command");
  exec::SequenceCommand c;
  c.kind = static_cast<exec::SequenceCommand::Kind>(w[0]);
  c.seq = static_cast<exec::SeqId>(w[1]);
  c.value = w[2];
  c.prompt.assign(w.begin() + 4, w.end());
  return c;
}

}  // namespace

Result<World> init_world() {
  int initialized = 0;
  MPI_Initialized(&initialized);
  if (!initialized) {
    // Serialized: r1vk serve's engine thread steps the pipeline while the main thread set it up
    // and tears it down, never both at once.
    int provided = 0;
    if (MPI_Init_thread(nullptr, nullptr, MPI_THREAD_SERIALIZED, &provided) != MPI_SUCCESS) {
      return make_error(ErrorCode::kIo, "MPI_Init failed: run under mpirun");
    }
    if (provided < MPI_THREAD_SERIALIZED) {
      return make_error(ErrorCode::kUnsupported, "the MPI library cannot be called from more than one thread (MPI_THREAD_SERIALIZED)");
    }
  }
  MPI_Comm_set_errhandler(MPI_COMM_WORLD, MPI_ERRORS_RETURN);
  World w;
  MPI_Comm_rank(MPI_COMM_WORLD, &w.rank);
  MPI_Comm_size(MPI_COMM_WORLD, &w.size);
  return w;
}

bool world_initialized() {
  int initialized = 0, finalized = 0;
  MPI_Initialized(&initialized);
  MPI_Finalized(&finalized);
  return initialized && !finalized;
}

void finalize_world() {
  if (world_initialized()) MPI_Finalize();
}

void abort_world(int code) {
  // Say so ourselves: Open MPI's own "MPI_ABORT was invoked" text goes through its help
  // system, which under --enable-recovery can fail to print (ORTE show_help unpack errors).
  int rank = -1;
  if (world_initialized()) MPI_Comm_rank(MPI_COMM_WORLD, &rank);
  std::fflush(stdout);
  std::fprintf(stderr, "r1vk: pipeline rank %d aborts the MPI job (exit code %d)\n", rank, code);
  std::fflush(stderr);
  MPI_Abort(MPI_COMM_WORLD, code);
  std::_Exit(code);  // MPI_Abort does not return; in case it does
}

Result<std::vector<double>> all_gather(double value) {
  int size = 0;
  MPI_Comm_size(MPI_COMM_WORLD, &size);
  std::vector<double> all(static_cast<size_t>(size));
  const int rc = MPI_Allgather(&value, 1, MPI_DOUBLE, all.data(), 1, MPI_DOUBLE, MPI_COMM_WORLD);
  if (rc != MPI_SUCCESS) return mpi_error(rc, "gathering the ranks' device memory");
  return all;
}

Status barrier() {
  const int rc = MPI_Barrier(MPI_COMM_WORLD);
  if (rc != MPI_SUCCESS) return mpi_error(rc, "waiting for every rank");
  return ok_status();
}

MpiStageChain::MpiStageChain(World world, int64_t hidden, int64_t vocab, bool keep_logits, double timeout_s)
    : world_(world), hidden_(hidden), vocab_(vocab), keep_logits_(keep_logits), timeout_s_(timeout_s),
      seconds_(static_cast<size_t>(world.size - 1), 0.0) {}

MpiStageChain::~MpiStageChain() {
  if (lost_.empty()) (void)send_all({kStop});
}

Error MpiStageChain::lose(Error error) {
  if (lost_.empty()) lost_ = error.message();
  return error;
}

Status MpiStageChain::send_all(const std::vector<int64_t>& command) {
  for (int r = 1; r < world_.size; ++r) {
    auto st = send(command, MPI_INT64_T, r, kCommand, timeout_s_, "a command");
    if (!st.ok()) return lose(std::move(st).error());
  }
  return ok_status();
}

Status MpiStageChain::apply(const exec::SequenceCommand& c, int64_t expect) {
  if (!lost_.empty()) return make_error(ErrorCode::kIo, "the pipeline lost a rank: " + lost_);
  R1VK_TRY(send_all(encode(c)));
  for (int r = 1; r < world_.size; ++r) {
    auto reply = receive<int64_t>(MPI_INT64_T, r, kReply, timeout_s_, false, "reply to a sequence operation");
    if (!reply.ok()) return lose(std::move(reply).error());
    if (reply->size() != 2 || (*reply)[0] != 1) {
      return make_error(ErrorCode::kInternal, "pipeline rank " + std::to_string(r) + " failed a sequence operation");
    }
    if ((*reply)[1] != expect) {
      return make_error(ErrorCode::kInternal, "pipeline rank " + std::to_string(r) + " disagrees with rank 0 on a sequence operation");
    }
  }
  return ok_status();
}

Status MpiStageChain::submit(std::span<const exec::StepEntry> entries, std::span<const float> hidden) {
  if (!lost_.empty()) return make_error(ErrorCode::kIo, "the pipeline lost a rank: " + lost_);
  std::vector<int64_t> w = {kStep, static_cast<int64_t>(entries.size())};
  std::vector<int64_t> tokens;
  for (const exec::StepEntry& e : entries) {
    w.insert(w.end(), {static_cast<int64_t>(e.seq), static_cast<int64_t>(e.tokens.size()), e.sample ? 1 : 0,
                       float_bits(e.sampling.temperature), float_bits(e.sampling.top_p), e.sampling.top_k, e.sampling.seed});
    tokens.insert(tokens.end(), e.tokens.begin(), e.tokens.end());
  }
  w.insert(w.end(), tokens.begin(), tokens.end());
  if (hidden.size() != tokens.size() * static_cast<size_t>(hidden_)) {
    return make_error(ErrorCode::kInternal, "the first stage's output has " + std::to_string(hidden.size()) + " floats for " +
                                                std::to_string(tokens.size()) + " rows of " + std::to_string(hidden_));
  }
  R1VK_TRY(send_all(w));
  const std::vector<float> rows(hidden.begin(), hidden.end());
  auto st = send(rows, MPI_FLOAT, 1, kHidden, timeout_s_, "hidden rows");
  if (!st.ok()) return lose(std::move(st).error());
  pending_rows_.push_back(static_cast<uint32_t>(tokens.size()));
  return ok_status();
}

Result<bool> MpiStageChain::poll() {
  int flag = 0;
  MPI_Iprobe(world_.size - 1, kTokens, MPI_COMM_WORLD, &flag, MPI_STATUS_IGNORE);
  return flag != 0;
}

Result<std::vector<int32_t>> MpiStageChain::finish(std::vector<float>* logits) {
  if (pending_rows_.empty()) return make_error(ErrorCode::kInvalidArgument, "no submitted pipeline step to finish");
  const uint32_t rows = pending_rows_.front();
  pending_rows_.pop_front();
  // Each rank's report in order: the first missing one names the rank that was lost.
  for (int r = 1; r < world_.size; ++r) {
    auto report = receive<double>(MPI_DOUBLE, r, kProgress, timeout_s_, false, "step report");
    if (!report.ok()) return lose(std::move(report).error());
    if (report->size() == 1) seconds_[static_cast<size_t>(r - 1)] += (*report)[0];
  }
  const int last = world_.size - 1;
  auto tokens = receive<int32_t>(MPI_INT32_T, last, kTokens, timeout_s_, false, "sampled tokens");
  if (!tokens.ok()) return lose(std::move(tokens).error());
  if (keep_logits_) {
    auto l = receive<float>(MPI_FLOAT, last, kLogits, timeout_s_, false, "logits");
    if (!l.ok()) return lose(std::move(l).error());
    if (l->size() != size_t{rows} * static_cast<size_t>(vocab_)) {
      return make_error(ErrorCode::kInternal, "the last pipeline rank sent logits of the wrong size");
    }
    if (logits) logits->insert(logits->end(), l->begin(), l->end());
  }
  return std::move(tokens).value();
}

Status serve_stage(World world, exec::BatchExecutor& stage, double timeout_s) {
  const bool last = world.rank == world.size - 1;
  for (;;) {
    // Idle between requests for as long as rank 0 needs (mpirun ends the job if rank 0 dies).
    R1VK_ASSIGN_OR_RETURN(auto w, receive<int64_t>(MPI_INT64_T, 0, kCommand, timeout_s, true, "command"));
    if (w.empty()) return make_error(ErrorCode::kCorruptData, "empty pipeline command");
    if (w[0] == kStop) return ok_status();
    if (w[0] != kStep) {
      R1VK_ASSIGN_OR_RETURN(auto c, decode_command(w));
      auto r = exec::apply_sequence_command(stage, c);
      if (!r.ok()) std::fprintf(stderr, "r1vk: pipeline rank %d: %s\n", world.rank, r.error().message().c_str());
      const std::vector<int64_t> reply = {r.ok() ? 1 : 0, r.ok() ? *r : 0};
      R1VK_TRY(send(reply, MPI_INT64_T, 0, kReply, timeout_s, "a reply"));
      continue;
    }
    // A step: entries, then the previous rank's hidden rows.
    if (w.size() < 2) return make_error(ErrorCode::kCorruptData, "malformed pipeline step");
    const size_t n = static_cast<size_t>(w[1]);
    if (w.size() < 2 + n * kEntryWords) return make_error(ErrorCode::kCorruptData, "malformed pipeline step");
    std::vector<int32_t> tokens(w.begin() + static_cast<std::ptrdiff_t>(2 + n * kEntryWords), w.end());
    std::vector<exec::StepEntry> entries(n);
    size_t next = 0;
    for (size_t i = 0; i < n; ++i) {
      const int64_t* e = w.data() + 2 + i * kEntryWords;
      const size_t k = static_cast<size_t>(e[1]);
      if (next + k > tokens.size()) return make_error(ErrorCode::kCorruptData, "malformed pipeline step");
      entries[i].seq = static_cast<exec::SeqId>(e[0]);
      entries[i].tokens = std::span<const int32_t>(tokens).subspan(next, k);
      entries[i].sample = e[2] != 0;
      entries[i].sampling = {bits_float(e[3]), bits_float(e[4]), static_cast<uint32_t>(e[5]), static_cast<uint32_t>(e[6])};
      next += k;
    }
    R1VK_ASSIGN_OR_RETURN(auto hidden, receive<float>(MPI_FLOAT, world.rank - 1, kHidden, timeout_s, false, "hidden rows"));
    const auto t0 = Clock::now();
    R1VK_TRY(stage.set_stage_input(hidden));
    std::vector<float> logits;
    const bool keep = last && stage.options().keep_logits;
    R1VK_ASSIGN_OR_RETURN(auto sampled, stage.step(entries, keep ? &logits : nullptr));
    const double seconds = std::chrono::duration<double>(Clock::now() - t0).count();
    if (!last) {
      R1VK_ASSIGN_OR_RETURN(auto out, stage.stage_output());
      R1VK_TRY(send(std::vector<float>(out.begin(), out.end()), MPI_FLOAT, world.rank + 1, kHidden, timeout_s, "hidden rows"));
    }
    R1VK_TRY(send(std::vector<double>{seconds}, MPI_DOUBLE, 0, kProgress, timeout_s, "a step report"));
    if (last) {
      R1VK_TRY(send(sampled, MPI_INT32_T, 0, kTokens, timeout_s, "sampled tokens"));
      if (keep) R1VK_TRY(send(logits, MPI_FLOAT, 0, kLogits, timeout_s, "logits"));
    }
  }
}

}  // namespace r1vk::mpi
