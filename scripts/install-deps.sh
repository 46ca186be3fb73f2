#!/usr/bin/env bash
# Installs the Debian 12 packages r1vk builds and tests with, only when some are missing.
# Extra package names given as arguments are installed the same way (install-train-deps.sh).
set -euo pipefail

packages=(
  build-essential cmake ninja-build pkg-config git
  libvulkan-dev mesa-vulkan-drivers vulkan-validationlayers vulkan-tools
  glslc glslang-tools spirv-tools
  doctest-dev libcli11-dev nlohmann-json3-dev libpcre2-dev libxxhash-dev libicu-dev
  tmux
  clang libclang-rt-14-dev  # scripts/fuzz.sh: libFuzzer + ASan/UBSan builds of the parsers
  python3  # demo_heldout_export_check re-exports the held-out problems (pure Python)
  libcpp-httplib-dev  # r1vk serve's HTTP server
  nodejs  # the r1vk serve tests run the official openai npm client (scripts/install-node-deps.sh)
  chromium  # serve_chat_page loads the built-in chat page headless and reads the answer from the DOM
  python3-numpy  # cli_output_formats reads the .npy files r1vk writes with an independent reader
  libopenmpi-dev openmpi-bin  # r1vk --pipeline across processes and hosts (mpirun), its tests
  "$@"
)

# npm comes with some Node.js builds (NodeSource); Debian ships it apart.
command -v npm >/dev/null || packages+=(npm)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-deps: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
