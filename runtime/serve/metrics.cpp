#include "serve/metrics.h"

#include <cstdio>

namespace r1vk::serve {
namespace {

std::string number(double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, "%.9g", v);
  return buf;
}

void metric(std::string& out, const char* name, const char* type, const char* help, uint64_t value) {
  out += std::string("# HELP ") + name + " " + help + "\n# TYPE " + name + " " + type + "\n";
  out += std::string(name) + " " + std::to_string(value) + "\n";
}

}  // namespace

void LatencyHistogram::observe(double seconds) {
  std::lock_guard lock(mutex_);
  for (size_t i = 0; i < kBounds.size(); ++i) {
    if (seconds <= kBounds[i]) {
      ++buckets_[i];
      break;
    }
  }
  ++count_;
  sum_ += seconds;
}

uint64_t LatencyHistogram::count() const {
  std::lock_guard lock(mutex_);
  return count_;
}

std::string LatencyHistogram::render(const std::string& name, const std::string& help) const {
  std::lock_guard lock(mutex_);
  std::string out = "# HELP " + name + " " + help + "\n# TYPE " + name + " histogram\n";
  uint64_t cumulative = 0;
  for (size_t i = 0; i < kBounds.size(); ++i) {
    cumulative += buckets_[i];
    out += name + "_bucket{le=\"" + number(kBounds[i]) + "\"} " + std::to_string(cumulative) + "\n";
  }
  out += name + "_bucket{le=\"+Inf\"} " + std::to_string(count_) + "\n";
  out += name + "_sum " + number(sum_) + "\n";
  out += name + "_count " + std::to_string(count_) + "\n";
  return out;
}

std::string Metrics::render_prometheus() const {
  std::string out;
  out += "# HELP r1vk_requests_total Requests that ran, by how they finished.\n# TYPE r1vk_requests_total counter\n";
  out += "r1vk_requests_total{finish_reason=\"stop\"} " + std::to_string(requests_stop.load()) + "\n";
  out += "r1vk_requests_total{finish_reason=\"length\"} " + std::to_string(requests_length.load()) + "\n";
  out += "r1vk_requests_total{finish_reason=\"cancelled\"} " + std::to_string(requests_cancelled.load()) + "\n";
  out += "r1vk_requests_total{finish_reason=\"error\"} " + std::to_string(requests_error.load()) + "\n";
  metric(out, "r1vk_requests_rejected_total", "counter", "Requests refused before running (bad request, busy, too long).",
         requests_rejected.load());
  metric(out, "r1vk_prompt_tokens_total", "counter", "Prompt tokens of admitted requests.", prompt_tokens.load());
  metric(out, "r1vk_generation_tokens_total", "counter", "Tokens generated.", generation_tokens.load());
  metric(out, "r1vk_engine_steps_total", "counter", "Engine steps run.", steps.load());
  metric(out, "r1vk_mtp_drafts_proposed_total", "counter", "MTP draft tokens verified (speculative decoding).", draft_proposed.load());
  metric(out, "r1vk_mtp_drafts_accepted_total", "counter", "MTP draft tokens accepted (each saved a step).", draft_accepted.load());
  metric(out, "r1vk_queue_depth", "gauge", "Requests waiting for a place in the batch.", waiting.load());
  metric(out, "r1vk_running_sequences", "gauge", "Sequences in the running batch.", running.load());
  metric(out, "r1vk_kv_blocks_used", "gauge", "KV cache blocks reserved by running sequences.", kv_blocks_used.load());
  metric(out, "r1vk_kv_blocks_total", "gauge", "KV cache blocks in the pool.", kv_blocks_total.load());
  metric(out, "r1vk_device_memory_allocated_bytes", "gauge", "Device-local memory held (VkDeviceMemory blocks).",
         device_memory_allocated.load());
  metric(out, "r1vk_device_memory_in_use_bytes", "gauge", "Device-local memory in live buffers.", device_memory_in_use.load());
  metric(out, "r1vk_host_visible_memory_allocated_bytes", "gauge", "Host-visible device memory held (staging, host-resident weights).",
         host_visible_memory_allocated.load());
  out += time_to_first_token.render("r1vk_time_to_first_token_seconds", "Time from arrival to the first generated token.");
  out += inter_token_latency.render("r1vk_inter_token_latency_seconds", "Time between consecutive generated tokens of a request.");
  return out;
}

}  // namespace r1vk::serve
