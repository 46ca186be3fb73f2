// The Prometheus text of /metrics: every family has HELP and TYPE, histogram buckets are
// cumulative and end at +Inf with the count.
#include <doctest/doctest.h>

#include <limits>

#include "serve/generation_check.h"
#include "serve/metrics.h"

namespace r1vk::serve {

TEST_CASE("latency histograms render cumulative buckets") {
  LatencyHistogram h;
  h.observe(0.003);
  h.observe(0.2);
  h.observe(100.0);
  const std::string t = h.render("x_seconds", "help");
  CHECK(t.find("# TYPE x_seconds histogram\n") != std::string::npos);
  CHECK(t.find("x_seconds_bucket{le=\"0.001\"} 0\n") != std::string::npos);
  CHECK(t.find("x_seconds_bucket{le=\"0.005\"} 1\n") != std::string::npos);
  CHECK(t.find("x_seconds_bucket{le=\"0.25\"} 2\n") != std::string::npos);
  CHECK(t.find("x_seconds_bucket{le=\"30\"} 2\n") != std::string::npos);
  CHECK(t.find("x_seconds_bucket{le=\"+Inf\"} 3\n") != std::string::npos);
  CHECK(t.find("x_seconds_count 3\n") != std::string::npos);
}

TEST_CASE("the metrics page names every family once with its type") {
  Metrics m;
  m.running = 3;
  m.generation_tokens = 42;
  const std::string t = m.render_prometheus();
  for (const char* name : {"r1vk_requests_total", "r1vk_prompt_tokens_total", "r1vk_generation_tokens_total", "r1vk_queue_depth",
                           "r1vk_running_sequences", "r1vk_kv_blocks_used", "r1vk_time_to_first_token_seconds",
                           "r1vk_inter_token_latency_seconds", "r1vk_mtp_drafts_proposed_total", "r1vk_mtp_drafts_accepted_total"}) {
    CHECK_MESSAGE(t.find(std::string("# TYPE ") + name + " ") != std::string::npos, name);
  }
  CHECK(t.find("\nr1vk_running_sequences 3\n") != std::string::npos);
  CHECK(t.find("\nr1vk_generation_tokens_total 42\n") != std::string::npos);
  m.draft_proposed = 9;
  m.draft_accepted = 8;
  const std::string d = m.render_prometheus();
  CHECK(d.find("\nr1vk_mtp_drafts_proposed_total 9\n") != std::string::npos);
  CHECK(d.find("\nr1vk_mtp_drafts_accepted_total 8\n") != std::string::npos);
}

TEST_CASE("sampling options are checked: non-finite, negative temperature, top_p outside (0, 1], max_tokens < 1") {
  CHECK(check_generation_options(0.6, 0.95, 10).ok());
  CHECK(check_generation_options(0.0, 1.0, 1).ok());
  CHECK(!check_generation_options(-0.1, 0.95, 10).ok());
  CHECK(!check_generation_options(std::numeric_limits<double>::quiet_NaN(), 0.95, 10).ok());
  CHECK(!check_generation_options(std::numeric_limits<double>::infinity(), 0.95, 10).ok());
  CHECK(!check_generation_options(0.6, 0.0, 10).ok());
  CHECK(!check_generation_options(0.6, 1.01, 10).ok());
  CHECK(!check_generation_options(0.6, std::numeric_limits<double>::quiet_NaN(), 10).ok());
  CHECK(!check_generation_options(0.6, 0.95, 0).ok());
}

}  // namespace r1vk::serve
