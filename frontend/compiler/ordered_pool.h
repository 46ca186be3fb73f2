// Runs numbered jobs on a fixed number of worker threads and hands their results to the caller
// in job order, with a bounded number of jobs alive at once. The compiler's pipeline: workers
// dequantise and quantise tensor slices in parallel while the calling thread writes the finished
// slices to the plan file in the order the format needs.
#pragma once

#include <algorithm>
#include <condition_variable>
#include <cstddef>
#include <exception>
#include <functional>
#include <mutex>
#include <new>
#include <optional>
#include <thread>
#include <vector>

#include "base/parallel_for.h"
#include "base/status.h"

namespace r1vk {

// Calls job(i) for every i in [0, count) on `threads` workers (at least 1) and consume(i, result)
// on the calling thread for i = 0, 1, 2, ... in order. A job starts only while fewer than
// `window` jobs (at least `threads`) are started and not yet consumed, so at most `window`
// results exist at any time: what bounds memory when each result is large. Inside a job,
// parallel_for runs inline (ParallelForLimit(1)): the pool is the parallelism.
// The first failure (a job's error, consume's error, or std::bad_alloc in a job) stops the run:
// jobs not yet started are skipped, running ones finish, and that error is returned.
template <typename T>
Status run_ordered(size_t count, int threads, size_t window, const std::function<Result<T>(size_t)>& job,
                   const std::function<Status(size_t, T&&)>& consume) {
  threads = std::max(threads, 1);
  window = std::max(window, static_cast<size_t>(threads));
  std::mutex mu;
  std::condition_variable cv;
  std::vector<std::optional<Result<T>>> slots(window);  // result of job i in slot i % window
  size_t next_start = 0, next_consume = 0;
  bool stop = false;

  auto worker = [&] {
    const ParallelForLimit inline_loops(1);
    for (;;) {
      size_t i;
      {
        std::unique_lock<std::mutex> lock(mu);
        cv.wait(lock, [&] { return stop || next_start >= count || next_start < next_consume + window; });
        if (stop || next_start >= count) return;
        i = next_start++;
      }
      std::optional<Result<T>> r;
      try {
        r.emplace(job(i));
      } catch (const std::bad_alloc&) {
        r.emplace(make_error(ErrorCode::kOutOfMemory, "out of memory"));
      } catch (const std::exception& e) {
        r.emplace(make_error(ErrorCode::kInternal, e.what()));
      }
      std::lock_guard<std::mutex> lock(mu);
      slots[i % window] = std::move(r);
      cv.notify_all();
    }
  };
  std::vector<std::thread> pool;
  pool.reserve(static_cast<size_t>(threads));
  for (int t = 0; t < threads; ++t) pool.emplace_back(worker);

  Status status = ok_status();
  for (size_t i = 0; i < count && status.ok(); ++i) {
    std::optional<Result<T>> r;
    {
      std::unique_lock<std::mutex> lock(mu);
      cv.wait(lock, [&] { return slots[i % window].has_value(); });
      r = std::move(slots[i % window]);
      slots[i % window].reset();
    }
    if (r->ok()) status = consume(i, std::move(*r).value());
    else status = std::move(*r).error();
    {
      std::lock_guard<std::mutex> lock(mu);
      next_consume = i + 1;
      if (!status.ok()) stop = true;
    }
    cv.notify_all();
  }
  for (std::thread& t : pool) t.join();
  return status;
}

}  // namespace r1vk
