#!/usr/bin/env bash
# The main job: builds r1vk, lists the Vulkan devices, and lets the bundled demo model (a small
# DeepSeek-V3-architecture reasoner, models/r1vk-demo) answer a question on the default device,
# streaming its reasoning (dimmed on a terminal) and then its answer.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/build.sh"
"$root/build/r1vk" devices
echo
prompt=${1:-"What is 31415 + 92653?"}
echo "> $prompt"
"$root/build/r1vk" run -p "$prompt" --temperature 0
