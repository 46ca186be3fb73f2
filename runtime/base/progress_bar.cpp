#include "base/progress_bar.h"

#include <algorithm>
#include <atomic>
#include <unistd.h>

namespace r1vk {
namespace {

std::string size_text(double bytes) {
  char buf[32];
  if (bytes >= 1 << 30) std::snprintf(buf, sizeof(buf), "%.2f GiB", bytes / (1 << 30));
  else if (bytes >= 1 << 20) std::snprintf(buf, sizeof(buf), "%.1f MiB", bytes / (1 << 20));
  else std::snprintf(buf, sizeof(buf), "%.0f KiB", bytes / 1024);
  return buf;
}

std::atomic<bool> quiet{false};

}  // namespace

void ProgressBar::set_quiet(bool q) { quiet = q; }

ProgressBar::ProgressBar(std::string label, uint64_t total, bool enabled)
    : label_(std::move(label)), total_(total), enabled_(enabled), start_(std::chrono::steady_clock::now()) {}

ProgressBar::ProgressBar(std::string label, uint64_t total) : ProgressBar(std::move(label), total, !quiet && isatty(STDERR_FILENO) != 0) {}

ProgressBar::~ProgressBar() { finish(); }

std::string ProgressBar::render(const std::string& label, uint64_t done, uint64_t total, double seconds, int width,
                                const std::string& unit) {
  auto amount = [&unit](double v) {
    if (unit.empty()) return size_text(v);
    char b[32];
    std::snprintf(b, sizeof(b), v < 100 && v != static_cast<double>(static_cast<uint64_t>(v)) ? "%.1f" : "%.0f", v);
    return std::string(b);
  };
  const std::string suffix = unit.empty() ? "" : " " + unit;
  const double frac = total > 0 ? std::min(1.0, static_cast<double>(done) / static_cast<double>(total)) : 1.0;
  const int filled = static_cast<int>(frac * width + 0.5);
  std::string bar(static_cast<size_t>(filled), '#');
  bar.append(static_cast<size_t>(width - filled), ' ');
  const double rate = seconds > 0 ? static_cast<double>(done) / seconds : 0.0;
  char tail[96];
  if (rate > 0 && done < total) {
    std::snprintf(tail, sizeof(tail), " %s%s/s ETA %.0fs", amount(rate).c_str(), suffix.c_str(), static_cast<double>(total - done) / rate);
  } else if (rate > 0) {
    std::snprintf(tail, sizeof(tail), " %s%s/s in %.1fs", amount(rate).c_str(), suffix.c_str(), seconds);
  } else {
    tail[0] = '\0';
  }
  char head[64];
  std::snprintf(head, sizeof(head), "] %3.0f%% ", frac * 100);
  return label + " [" + bar + head + amount(static_cast<double>(done)) + "/" + amount(static_cast<double>(total)) + suffix + tail;
}

void ProgressBar::update(uint64_t done) {
  done_ = done;
  draw(false);
}

void ProgressBar::finish() {
  if (finished_) return;
  finished_ = true;
  if (!enabled_) return;
  draw(true);
  std::fputc('\n', stderr);
}

void ProgressBar::draw(bool force) {
  if (!enabled_) return;
  const auto now = std::chrono::steady_clock::now();
  if (!force && now - last_draw_ < std::chrono::milliseconds(100)) return;
  last_draw_ = now;
  const double secs = std::chrono::duration<double>(now - start_).count();
  std::fprintf(stderr, "\r\033[K%s", render(label_, done_, total_, secs, 30, unit_).c_str());
  std::fflush(stderr);
}

}  // namespace r1vk
