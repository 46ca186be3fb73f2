#include "base/temp_files.h"

#include <unistd.h>

#include <array>
#include <atomic>
#include <csignal>
#include <cstring>

namespace r1vk {
namespace {

// A signal handler may only read plain memory and call async-signal-safe functions (unlink,
// signal, raise), so paths live in fixed buffers guarded by an atomic "in use" flag.
constexpr size_t kSlots = 8;
constexpr size_t kMaxPath = 4096;

struct Slot {
  std::atomic<bool> used{false};
  std::atomic<bool> claimed{false};
  char path[kMaxPath];
};
std::array<Slot, kSlots> g_slots;

void unlink_registered() {
  for (Slot& s : g_slots) {
    if (s.used.load(std::memory_order_acquire)) unlink(s.path);
  }
}

extern "C" void remove_temp_files_and_reraise(int sig) {
  unlink_registered();
  std::signal(sig, SIG_DFL);
  std::raise(sig);
}

}  // namespace

void remove_temp_files_on_signals() {
  // SIGHUP is what a closed terminal or a dropped ssh session sends, SIGQUIT is Ctrl-\: both
  // would otherwise leave a partial plan (hundreds of GB at R1 scale) in the cache for good.
  for (int sig : {SIGINT, SIGTERM, SIGHUP, SIGQUIT}) std::signal(sig, remove_temp_files_and_reraise);
}

int register_temp_file(const std::string& path) {
  if (path.size() >= kMaxPath) return -1;
  for (size_t i = 0; i < kSlots; ++i) {
    bool expected = false;
    if (!g_slots[i].claimed.compare_exchange_strong(expected, true)) continue;
    std::memcpy(g_slots[i].path, path.c_str(), path.size() + 1);
    g_slots[i].used.store(true, std::memory_order_release);
    return static_cast<int>(i);
  }
  return -1;
}

void remove_temp_files_now() { unlink_registered(); }

void unregister_temp_file(int slot) {
  if (slot < 0 || static_cast<size_t>(slot) >= kSlots) return;
  g_slots[static_cast<size_t>(slot)].used.store(false, std::memory_order_release);
  g_slots[static_cast<size_t>(slot)].claimed.store(false, std::memory_order_release);
}

}  // namespace r1vk
