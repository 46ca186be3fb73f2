#!/usr/bin/env bash
# Configures and builds r1vk into build/ (or $R1VK_BUILD_DIR) after making sure the packages exist.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/install-deps.sh"
build_dir=${R1VK_BUILD_DIR:-$root/build}
cmake -S "$root" -B "$build_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DR1VK_WERROR=ON "$@" >/dev/null
cmake --build "$build_dir" --parallel "$(nproc)"
