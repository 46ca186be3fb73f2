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

TEST_CASE("progress text counts things when given a unit") {
  CHECK(ProgressBar::render("eval", 12, 500, 4.0, 4, "problems") == "eval [    ]   2% 12/500 problems 3 problems/s ETA 163s");
  CHECK(ProgressBar::render("ppl", 500, 500, 200.0, 2, "tokens") == "ppl [##] 100% 500/500 tokens 2.5 tokens/s in 200.0s");
}

}  // namespace
}  // namespace r1vk
