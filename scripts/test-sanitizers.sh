#!/usr/bin/env bash
# The sanitizer stage of scripts/test.sh, runnable alone: a second build tree with ASan + UBSan
# (-DR1VK_SANITIZE=ON, any UB report aborts; build-asan/ or $R1VK_SANITIZE_BUILD_DIR) that builds
# only what the stage runs:
#   import  the checkpoint import readers and their bad-input corpus (import_tests,
#           import_bad_input_tests);
#   serve   the server's unit tests (serve_tests: engine, request parsing, HTTP server against
#           hand-written hostile clients), then `r1vk serve` itself built with the sanitizers on
#           the demo model under tests/serve/serve_soak.mjs for R1VK_SANITIZE_SOAK_SECONDS
#           (default 30): streamed, whole, aborted, abandoned and malformed/oversized requests
#           from 4 clients, then SIGTERM. Any ASan/LSan/UBSan report of the server (written to
#           files by log_path, so none is lost in its captured output) fails the stage, as does an
#           unexpected answer, a server that died or did not exit 0.
#
#   scripts/test-sanitizers.sh [import|serve]...     (default: both)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
parts=("$@")
[ ${#parts[@]} -eq 0 ] && parts=(import serve)
san_dir=${R1VK_SANITIZE_BUILD_DIR:-$root/build-asan}
export R1VK_VALIDATION=${R1VK_VALIDATION:-1}

targets=()
for p in "${parts[@]}"; do
  case $p in
    import) targets+=(import_tests import_bad_input_tests) ;;
    serve) targets+=(serve_tests r1vk) ;;
    *) echo "test-sanitizers.sh: unknown part '$p' (import, serve)" >&2; exit 2 ;;
  esac
done
cmake -S "$root" -B "$san_dir" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DR1VK_WERROR=ON -DR1VK_SANITIZE=ON >/dev/null
cmake --build "$san_dir" --parallel "$(nproc)" --target "${targets[@]}"

for p in "${parts[@]}"; do
  case $p in
    import)
      ctest --test-dir "$san_dir" --output-on-failure --timeout 900 -R '^import_(tests|bad_input_tests)$'
      ;;
    serve)
      ctest --test-dir "$san_dir" --output-on-failure --timeout 300 -R '^serve_tests$'
      reports=$san_dir/sanitizer-reports
      rm -rf "$reports"
      mkdir -p "$reports"
      seconds=${R1VK_SANITIZE_SOAK_SECONDS:-30}
      rc=0
      # The plan cache lives in the tree: the demo model compiles once (slowly, under ASan).
      R1VK_CACHE_DIR=$san_dir/plan_cache \
        ASAN_OPTIONS="log_path=$reports/asan:abort_on_error=1:detect_leaks=1" \
        UBSAN_OPTIONS="log_path=$reports/ubsan:print_stacktrace=1:halt_on_error=1" \
        node "$root/tests/serve/serve_soak.mjs" "$san_dir/r1vk" --minutes "$(awk "BEGIN { print $seconds / 60 }")" \
        --concurrency 4 --sample 5 || rc=$?
      if compgen -G "$reports/*" >/dev/null; then
        echo "test-sanitizers.sh: sanitizer reports from r1vk serve:" >&2
        for f in "$reports"/*; do
          echo "== $f" >&2
          cat "$f" >&2
        done
        exit 1
      fi
      if [ "$rc" -ne 0 ]; then
        echo "test-sanitizers.sh: the soak run against the ASan server failed (exit $rc)" >&2
        exit "$rc"
      fi
      echo "test-sanitizers.sh: r1vk serve under ASan + UBSan for ${seconds}s: no sanitizer report"
      ;;
  esac
done
