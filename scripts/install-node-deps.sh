#!/usr/bin/env bash
# Installs the npm packages the `r1vk serve` tests use (the official `openai` client, pinned in
# tests/serve/node/package.json and package-lock.json) into <build>/serve_node/node_modules.
# Needs node and npm (scripts/install-deps.sh) and the npm registry; does nothing when the
# installed set already matches the lock file.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build_dir=${R1VK_BUILD_DIR:-$root/build}
dest=$build_dir/serve_node
mkdir -p "$dest"
if cmp -s "$root/tests/serve/node/package-lock.json" "$dest/package-lock.json" && [ -d "$dest/node_modules/openai" ]; then
  exit 0
fi
cp "$root/tests/serve/node/package.json" "$root/tests/serve/node/package-lock.json" "$dest/"
echo "install-node-deps: npm ci in $dest"
(cd "$dest" && npm ci --no-audit --no-fund --loglevel=error)
