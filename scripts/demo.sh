#!/usr/bin/env bash
# The main job: builds r1vk, lists the Vulkan devices and runs a small compute smoke run on the
# default one (the f16 GEMV, timed and checked against a CPU dot product).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/build.sh"
"$root/build/r1vk" devices
"$root/build/r1vk" bench-kernels --quick
