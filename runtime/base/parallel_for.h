// Splits [0, n) into contiguous chunks run on all hardware threads. Used for CPU-heavy loops
// (quantisation, reference math) where each index is independent.
#pragma once

#include <algorithm>
#include <cstdint>
#include <thread>
#include <vector>

namespace r1vk {

// fn(begin, end) is called on disjoint ranges; `min_chunk` keeps small jobs on one thread.
template <typename Fn>
void parallel_for(int64_t n, int64_t min_chunk, Fn&& fn) {
  const int64_t hw = std::max<int64_t>(1, std::thread::hardware_concurrency());
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
