#!/usr/bin/env bash
# r1vk's choice of llvmpipe's compute threads (tools/r1vk/cpu_driver_threads.h): a model reading
# under 16 MiB of weights per token runs lavapipe inline (LP_NUM_THREADS=0), a user's
# LP_NUM_THREADS is kept, and the choice reaches the driver (no llvmpipe threads in a serving
# process when inline, some when the user asks for two). Usage: cpu_driver_threads.sh R1VK DEMO
set -uo pipefail
r1vk=$1
demo=$2
fail() { echo "FAIL: $*"; exit 1; }
work=$(mktemp -d)
trap 'kill "${pid:-}" 2>/dev/null; rm -rf "$work"' EXIT

bench=("$r1vk" bench "$demo" --prompt 8 --decode 2 --long-context 0 --mtp-decode 0)
env -u LP_NUM_THREADS "${bench[@]}" >"$work/default.log" 2>&1 || fail "bench: $(cat "$work/default.log")"
if ! grep -q '^device: llvmpipe' "$work/default.log"; then
  echo "cpu driver threads: the default device is not lavapipe; nothing to check"
  exit 0
fi
grep -q '^cpu driver threads: LP_NUM_THREADS=0, dispatches inline (0\.[0-9] MiB of weights per token, below 16 MiB)' "$work/default.log" ||
  fail "the demo model did not run inline: $(cat "$work/default.log")"
LP_NUM_THREADS=1 "${bench[@]}" >"$work/user.log" 2>&1 || fail "bench with LP_NUM_THREADS=1: $(cat "$work/user.log")"
grep -q '^cpu driver threads: LP_NUM_THREADS=1 (set by the environment)' "$work/user.log" ||
  fail "the user's LP_NUM_THREADS was not kept: $(cat "$work/user.log")"

# The driver sees the choice: llvmpipe names its compute threads llvmpipe-N.
llvmpipe_threads() {
  local n=0 t
  for t in /proc/"$1"/task/*/comm; do grep -q '^llvmpipe' "$t" 2>/dev/null && n=$((n + 1)); done
  echo "$n"
}
for setting in inline two; do
  if [ "$setting" = inline ]; then
    env -u LP_NUM_THREADS "$r1vk" serve "$demo" --port 0 >"$work/serve.log" 2>&1 &
  else
    LP_NUM_THREADS=2 "$r1vk" serve "$demo" --port 0 >"$work/serve.log" 2>&1 &
  fi
  pid=$!
  for _ in $(seq 1 600); do grep -q 'ready' "$work/serve.log" && break; sleep 0.1; done
  grep -q 'ready' "$work/serve.log" || fail "serve never became ready: $(cat "$work/serve.log")"
  threads=$(llvmpipe_threads "$pid")
  kill -TERM "$pid"
  wait "$pid"
  if [ "$setting" = inline ]; then
    [ "$threads" -eq 0 ] || fail "inline: $threads llvmpipe threads in the serving process"
  else
    [ "$threads" -ge 2 ] || fail "LP_NUM_THREADS=2: $threads llvmpipe threads in the serving process"
  fi
done
echo "cpu driver threads: ok"
