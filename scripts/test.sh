#!/usr/bin/env bash
# The whole test suite: builds r1vk, runs every CTest suite on the default Vulkan device
# (lavapipe when there is no GPU) with the Khronos validation layer on, then rebuilds the
# file-format readers with ASan+UBSan and runs their bad-input suites.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/build.sh"
export R1VK_VALIDATION=1
ctest --test-dir "$root/build" --output-on-failure --timeout 1800 -j "$(nproc)"
