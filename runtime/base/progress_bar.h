// A one-line progress bar for long work (compile, load, ppl): bytes done, rate and ETA,
// redrawn at most ten times a second on a terminal and silent when stderr is not one.
#pragma once

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>

namespace r1vk {

class ProgressBar {
 public:
  // `enabled` defaults to whether stderr is a terminal and set_quiet(true) was not called.
  ProgressBar(std::string label, uint64_t total, bool enabled);
  ProgressBar(std::string label, uint64_t total);
  // The CLI's --quiet: bars created afterwards with the default stay silent on a terminal too.
  static void set_quiet(bool quiet);
  ~ProgressBar();

  void update(uint64_t done);
  void update(uint64_t done, uint64_t total) {
    total_ = total;
    update(done);
  }
  void finish();  // draws the final state and ends the line
  // Counts things instead of bytes: "12/500 problems 3.1 problems/s" (empty: bytes).
  void set_unit(std::string unit) { unit_ = std::move(unit); }

  // The text update() would draw, for tests: "compile [#####     ] 50% 1.0/2.0 GiB 0.50 GiB/s ETA 2s".
  static std::string render(const std::string& label, uint64_t done, uint64_t total, double seconds, int width = 30,
                            const std::string& unit = {});

 private:
  void draw(bool force);
  std::string label_;
  std::string unit_;
  uint64_t total_;
  uint64_t done_ = 0;
  bool enabled_;
  bool finished_ = false;
  std::chrono::steady_clock::time_point start_;
  std::chrono::steady_clock::time_point last_draw_;
};

}  // namespace r1vk
