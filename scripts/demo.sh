#!/usr/bin/env bash
# The main job: builds r1vk and runs it on the default Vulkan device.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/build.sh"
"$root/build/r1vk" --help
