// The HTTP worker pool's connection bound: with every worker busy, accepting the next connection
// waits until one comes free; shutdown runs what was accepted and joins.
#include <doctest/doctest.h>

#include <atomic>
#include <chrono>
#include <future>
#include <thread>

#include "serve/http/connection_queue.h"

namespace r1vk::serve::http {

TEST_CASE("enqueue waits while all workers are busy, and resumes when one frees") {
  using namespace std::chrono_literals;
  ConnectionQueue q(2);
  std::promise<void> release;
  std::shared_future<void> released = release.get_future().share();
  std::atomic<int> ran{0};
  for (int i = 0; i < 2; ++i) {
    q.enqueue([&, released] {
      released.wait();
      ++ran;
    });
  }
  auto third = std::async(std::launch::async, [&] { q.enqueue([&] { ++ran; }); });
  CHECK(third.wait_for(200ms) == std::future_status::timeout);  // the accept loop is held
  release.set_value();
  CHECK(third.wait_for(5s) == std::future_status::ready);
  q.shutdown();
  CHECK(ran.load() == 3);
}

}  // namespace r1vk::serve::http
