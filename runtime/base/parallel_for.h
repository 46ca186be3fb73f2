// Splits [0, n) into contiguous chunks run on all hardware threads. Used for CPU-heavy loops
// (quantisation, reference math) where each index is independent.
#pragma once

#include <algorithm>
#include <cstdint>
#include <thread>
#include <vector>

namespace r1vk {

// The most threads parallel_for may use when called from this thread; 0: all hardware threads.
// Workers of an outer pool (the compiler's) set 1, so loops nested in their jobs run inline
// instead of multiplying the pool's threads by the core count.
inline thread_local int64_t parallel_for_max_threads = 0;

// Sets parallel_for_max_threads for the current scope.
class ParallelForLimit {
 public:
  explicit ParallelForLimit(int64_t max_threads) : saved_(parallel_for_max_threads) { parallel_for_max_threads = max_threads; }
  ~ParallelForLimit() { parallel_for_max_threads = saved_; }
  ParallelForLimit(const ParallelForLimit&) = delete;
  ParallelForLimit& operator=(const ParallelForLimit&) = delete;

 private:
  int64_t saved_;
};

// fn(begin, end) is called on disjoint ranges; `min_chunk` keeps small jobs on one thread.
template <typename Fn>
void parallel_for(int64_t n, int64_t min_chunk, Fn&& fn) {
  const int64_t hw = parallel_for_max_threads > 0 ? parallel_for_max_threads
                                                  : std::max<int64_t>(1, std::thread::hardware_concurrency());
  const int64_t workers = std::clamp<int64_t>(n / std::max<int64_t>(min_chunk, 1), 1, hw);
  if (workers == 1) {
    fn(int64_t{0}, n);
    return;
  }
  std::vector<std::thread> threads;
  threads.reserve(static_cast<size_t>(workers - 1));
  const int64_t chunk = (n + workers - 1) / workers;
  for (int64_t w = 1; w < workers; ++w) {
    const int64_t b = w * chunk, e = std::min(n, b + chunk);
    if (b < e) threads.emplace_back([&fn, b, e] { fn(b, e); });
  }
  fn(int64_t{0}, std::min(n, chunk));
  for (auto& t : threads) t.join();
}

}  // namespace r1vk
