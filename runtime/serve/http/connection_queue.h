// The HTTP server's worker pool with a bound on concurrent connections: `workers` threads serve
// one connection each; when all are busy, the accepting thread waits for one to come free, so
// further clients wait in the kernel's listen backlog instead of piling up in memory. (cpp-httplib's
// own ThreadPool queues accepted sockets without bound.)
#pragma once

#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>
#include <thread>
#include <vector>

#include <httplib.h>

namespace r1vk::serve::http {

class ConnectionQueue final : public httplib::TaskQueue {
 public:
  explicit ConnectionQueue(size_t workers);
  ~ConnectionQueue() override;

  void enqueue(std::function<void()> fn) override;
  void shutdown() override;

 private:
  void work();

  std::mutex mutex_;
  std::condition_variable has_job_;
  std::condition_variable has_room_;
  std::deque<std::function<void()>> jobs_;
  size_t busy_ = 0;
  size_t workers_n_;
  bool shutdown_ = false;
  std::vector<std::thread> workers_;
};

}  // namespace r1vk::serve::http
