// The serving counters, gauges and latency histograms, and their rendering in the Prometheus
// text exposition format (version 0.0.4). Updated by the engine and the HTTP layer from any
// thread.
#pragma once

#include <array>
#include <atomic>
#include <cstdint>
#include <mutex>
#include <string>

namespace r1vk::serve {

// A cumulative histogram with fixed bounds in seconds.
class LatencyHistogram {
 public:
  static constexpr std::array<double, 13> kBounds = {0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0};
  void observe(double seconds);
  // "# HELP/# TYPE" and the _bucket/_sum/_count lines for metric `name`.
  std::string render(const std::string& name, const std::string& help) const;
  uint64_t count() const;

 private:
  mutable std::mutex mutex_;
  std::array<uint64_t, kBounds.size()> buckets_{};  // per bound, not cumulative
  uint64_t count_ = 0;
  double sum_ = 0.0;
};

struct Metrics {
  // Requests by how they ended (finish reason), and those refused before running.
  std::atomic<uint64_t> requests_stop{0}, requests_length{0}, requests_cancelled{0}, requests_error{0};
  std::atomic<uint64_t> requests_rejected{0};  // bad request, queue full, too long
  std::atomic<uint64_t> prompt_tokens{0};
  std::atomic<uint64_t> generation_tokens{0};
  std::atomic<uint64_t> steps{0};
  // MTP speculative decoding: drafts verified, and those equal to the token sampled at their
  // place (each saved a step). Set from the runner's counts after every step.
  std::atomic<uint64_t> draft_proposed{0}, draft_accepted{0};
  // Gauges, set by the engine after every step.
  std::atomic<uint64_t> waiting{0}, running{0};
  std::atomic<uint64_t> kv_blocks_used{0}, kv_blocks_total{0};
  // Memory the device holds for the server (weights, KV pool, activations), set by whoever owns
  // the device before each rendering (Backend::sample_memory): bytes of device-local memory
  // allocated (VkDeviceMemory blocks) and in live buffers, and bytes of host-visible memory
  // (staging, read-back, host-resident experts). On a CPU device (lavapipe) all of it is the
  // process's own memory, part of its resident set too.
  std::atomic<uint64_t> device_memory_allocated{0}, device_memory_in_use{0}, host_visible_memory_allocated{0};
  LatencyHistogram time_to_first_token;
  LatencyHistogram inter_token_latency;

  std::string render_prometheus() const;
};

}  // namespace r1vk::serve
