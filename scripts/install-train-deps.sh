#!/usr/bin/env bash
# Installs the Debian 12 packages the demo-model trainer (tools/demo_model) needs, only when some
# are missing. Not part of CI: the trained model is committed under models/r1vk-demo.
# libopenblas0-pthread replaces Debian's reference BLAS (the libblas.so.3 alternative) with
# OpenBLAS; PyTorch's CPU matmuls are about 8x faster with it.
set -euo pipefail

packages=(python3-torch python3-numpy libopenblas0-pthread)

missing=()
for p in "${packages[@]}"; do
  status=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
  [ "$status" = "installed" ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

echo "install-train-deps: installing ${missing[*]}"
sudo=""
if [ "$(id -u)" -ne 0 ]; then
  command -v sudo >/dev/null || { echo "install-train-deps: need root or sudo to install: ${missing[*]}" >&2; exit 1; }
  sudo="sudo"
fi
export DEBIAN_FRONTEND=noninteractive
$sudo apt-get update -qq
$sudo apt-get install -y -qq --no-install-recommends "${missing[@]}"
