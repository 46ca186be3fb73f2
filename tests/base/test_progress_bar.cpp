#include <doctest/doctest.h>

#include "base/progress_bar.h"

namespace r1vk {
namespace {

TEST_CASE("progress text shows fraction, sizes, rate and ETA") {
  const uint64_t gib = 1ull << 30;
  CHECK(ProgressBar::render("compile", gib, 2 * gib, 2.0, 10) ==
        "compile [#####     ]  50% 1.00 GiB/2.00 GiB 512.0 MiB/s ETA 2s");
  CHECK(ProgressBar::render("load", 2 * gib, 2 * gib, 4.0, 4) == "load [####] 100% 2.00 GiB/2.00 GiB 512.0 MiB/s in 4.0s");
  CHECK(ProgressBar::render("x", 0, 0, 0.0, 2) == "x [##] 100% 0 KiB/0 KiB");
}

}  // namespace
}  // namespace r1vk
