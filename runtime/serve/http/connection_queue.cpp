#include "serve/http/connection_queue.h"

namespace r1vk::serve::http {

ConnectionQueue::ConnectionQueue(size_t workers) : workers_n_(workers == 0 ? 1 : workers) {
  for (size_t i = 0; i < workers_n_; ++i) workers_.emplace_back([this] { work(); });
}

ConnectionQueue::~ConnectionQueue() { shutdown(); }

void ConnectionQueue::enqueue(std::function<void()> fn) {
  std::unique_lock lock(mutex_);
  // The job owns an accepted socket and must run to close it, so even at shutdown it is queued.
  has_room_.wait(lock, [&] { return shutdown_ || busy_ + jobs_.size() < workers_n_; });
  jobs_.push_back(std::move(fn));
  lock.unlock();
  has_job_.notify_one();
}

void ConnectionQueue::shutdown() {
  {
    std::lock_guard lock(mutex_);
    if (shutdown_ && workers_.empty()) return;
    shutdown_ = true;
  }
  has_job_.notify_all();
  has_room_.notify_all();
  for (auto& t : workers_) {
    if (t.joinable()) t.join();
  }
  workers_.clear();
}

void ConnectionQueue::work() {
  while (true) {
    std::function<void()> fn;
    {
      std::unique_lock lock(mutex_);
      has_job_.wait(lock, [&] { return shutdown_ || !jobs_.empty(); });
      if (jobs_.empty()) return;  // shut down and drained
      fn = std::move(jobs_.front());
      jobs_.pop_front();
      ++busy_;
    }
    fn();
    {
      std::lock_guard lock(mutex_);
      --busy_;
    }
    has_room_.notify_one();
  }
}

}  // namespace r1vk::serve::http
