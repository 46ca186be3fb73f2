#!/usr/bin/env bash
# The whole test suite: builds r1vk, runs every CTest suite on the default Vulkan device
# (lavapipe when there is no GPU) with the Khronos validation layer on, then rebuilds the
# checkpoint import readers with ASan+UBSan and runs their bad-input suite, then fuzzes every
# parser for a short smoke time (scripts/fuzz.sh; R1VK_FUZZ_SECONDS per target, default 20).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/build.sh"
# The r1vk serve tests use the official openai npm client; without the npm registry they are
# skipped (CTest reports them as skipped, with the reason).
"$root/scripts/install-node-deps.sh" || echo "test.sh: warning: could not install the openai npm client; serve_openai_client will be skipped" >&2
export R1VK_VALIDATION=1
ctest --test-dir "$root/build" --output-on-failure --timeout 1800 -j "$(nproc)"

# Sanitizer pass (scripts/test-sanitizers.sh, runnable alone): the checkpoint import readers and
# their bad-input corpus, built with ASan + UBSan in a second tree; any finding fails. The script's
# `serve` part (the server's unit tests and a short soak of an ASan `r1vk serve`) is not in this
# pass yet: it rebuilds the whole runtime under ASan and has not been timed or verified end to
# end (docs/reliability.md).
"$root/scripts/test-sanitizers.sh" import

# Fuzz smoke: each libFuzzer target (clang, ASan + UBSan) from its seed corpus and past findings.
"$root/scripts/fuzz.sh" "${R1VK_FUZZ_SECONDS:-20}"
