#!/usr/bin/env bash
# SIGINT / SIGTERM (and, while compiling, SIGHUP / SIGQUIT) at the moments a user presses Ctrl-C or a supervisor stops r1vk, each made
# certain by stopping the process (SIGSTOP) at that moment, queueing the signal and resuming it:
#  - `r1vk run CHECKPOINT` while it compiles the checkpoint into the plan cache (mid-write);
#  - `r1vk run PLAN` while it loads the plan (opened, nothing generated yet);
#  - `r1vk run --json` while it generates;
#  - `r1vk serve` while it loads, and twice while it compiles a checkpoint into the plan cache.
# Each run must end by the signal (exit status 128 + N: 130 for SIGINT, 143 for SIGTERM; never an
# abort or a crash), leave no temporary file, leave the plan cache as it was (a plan already in it
# byte for byte, no partial plan, nothing half-written under a plan's name), and what it printed
# must be whole lines. `r1vk compile` itself is signalled in fault_paths.sh.
# Usage: signal_paths.sh path/to/r1vk path/to/models/r1vk-demo
set -uo pipefail
r1vk=$1
demo=$2
source "$(dirname "$0")/expect.sh"

plan=$work/demo.r1vk
"$r1vk" compile "$demo" -o "$plan" --ctx 128 >/dev/null 2>&1 || fail "compiling the demo model"
"$r1vk" gen-checkpoint --preset tiny-r1 --out "$work/ckpt" >/dev/null || fail "gen-checkpoint"
cache=$work/cache
# A plan already in the cache (the demo checkpoint's), which no interrupted compile may touch.
R1VK_CACHE_DIR=$cache "$r1vk" run "$demo" -p "What is 1 + 1?" --temperature 0 --max-tokens 2 >/dev/null 2>&1 ||
  fail "filling the plan cache"
cached=$(find "$cache" -name '*.r1vk')
[ "$(echo "$cached" | wc -l)" -eq 1 ] || fail "expected one cached plan: $cached"
cached_sum=$(sha256sum "$cached" | cut -d' ' -f1)

# Waits (up to 60 s) until `test` succeeds, then stops process $1; false if it exited first.
stop_when() {
  local pid=$1 test=$2
  for _ in $(seq 1 6000); do
    kill -0 "$pid" 2>/dev/null || return 1
    if eval "$test"; then
      kill -STOP "$pid" 2>/dev/null || return 1
      return 0
    fi
    sleep 0.01
  done
  return 1
}

# Queues SIG$2 on the stopped process $1, resumes it and checks how it ended. Sets $code.
signal_stopped() {
  local pid=$1 sig=$2
  kill -"$sig" "$pid"
  kill -CONT "$pid"
  wait "$pid"
  code=$?
  [ "$code" -eq $((128 + $(kill -l "$sig"))) ] || fail "$3: SIG$sig: exit $code, want $((128 + $(kill -l "$sig")))"
}

check_cache() {
  [ -z "$(find "$cache" -name '*.partial*')" ] || fail "$1: a partial plan was left in the cache: $(ls -la "$cache")"
  [ "$(sha256sum "$cached" | cut -d' ' -f1)" = "$cached_sum" ] || fail "$1: the cached plan changed"
  local p
  for p in $(find "$cache" -name '*.r1vk'); do
    "$r1vk" info "$p" >/dev/null 2>&1 || fail "$1: $p in the cache does not open"
  done
}

# 1. While the plan cache is being written: the partial plan appears, then the signal. SIGHUP (a
# closed terminal, a dropped ssh session) and SIGQUIT (Ctrl-\\) too: a partial plan they left
# would stay in the cache for good.
for sig in INT TERM HUP QUIT; do
  R1VK_CACHE_DIR=$cache "$r1vk" run "$work/ckpt" -p "hi" --weights q4 --max-tokens 2 >"$work/out" 2>&1 &
  pid=$!
  stop_when "$pid" '[ -n "$(find "$cache" -name "*.partial*")" ]' || fail "compiling into the cache: no partial plan seen before the run ended"
  signal_stopped "$pid" "$sig" "compiling into the cache"
  check_cache "SIG$sig while compiling into the cache"
  [ "$(find "$cache" -name '*.r1vk' | wc -l)" -eq 1 ] || fail "SIG$sig while compiling into the cache: a plan was published"
done
# The cache still works: the interrupted run, run again, compiles and answers.
R1VK_CACHE_DIR=$cache "$r1vk" run "$work/ckpt" -p "hi" --weights q4 --max-tokens 2 >"$work/out" 2>&1 ||
  fail "running again after the interrupted compiles: $(cat "$work/out")"
check_cache "after the rerun"

# 2. While loading: the plan is mapped, nothing generated yet.
for sig in INT TERM; do
  "$r1vk" run "$plan" -p "What is 1234 + 5678?" --temperature 0 >"$work/out" 2>"$work/err" &
  pid=$!
  stop_when "$pid" '{ grep -q "$plan" /proc/$pid/maps || ls -l /proc/$pid/fd | grep -q "$plan"; } 2>/dev/null' ||
    fail "loading: the plan was never opened"
  signal_stopped "$pid" "$sig" "loading"
  [ ! -s "$work/out" ] || fail "SIG$sig while loading: the run had already generated: $(cat "$work/out")"
  ! grep -qiE "abort|segmentation|core dumped|validation error" "$work/err" || fail "SIG$sig while loading: $(cat "$work/err")"
done

# 3. While generating: every line printed is whole. The tiny checkpoint's random weights (its plan
# is in the cache now) talk on for hundreds of tokens, where the demo model answers in ~50.
for sig in INT TERM; do
  R1VK_CACHE_DIR=$cache "$r1vk" run "$work/ckpt" -p "hi" --weights q4 --seed 1 --max-tokens 400 --json >"$work/out" 2>"$work/err" &
  pid=$!
  stop_when "$pid" '[ "$(wc -l <"$work/out")" -ge 3 ]' || fail "generating: the run ended before its third line: $(cat "$work/out" "$work/err")"
  signal_stopped "$pid" "$sig" "generating"
  ! grep -q '"type":"done"' "$work/out" || fail "SIG$sig while generating: the generation had already finished"
  python3 -c '
import json, sys
for n, line in enumerate(open(sys.argv[1]), 1):
    assert line.endswith("\n"), f"line {n} is cut: {line!r}"
    json.loads(line)
' "$work/out" || fail "SIG$sig while generating: the output is not whole JSON lines: $(cat "$work/out")"
  ! grep -qiE "abort|segmentation|core dumped|validation error" "$work/err" || fail "SIG$sig while generating: $(cat "$work/err")"
done
# 4. r1vk serve while it loads: the first signal is taken up once the model is loaded (graceful
# shutdown, exit 0); while it compiles a checkpoint into the plan cache, a second signal exits at
# once (130) and removes the partial plan.
"$r1vk" serve "$plan" --port 0 >"$work/out" 2>&1 &
pid=$!
stop_when "$pid" '{ grep -q "$plan" /proc/$pid/maps || ls -l /proc/$pid/fd | grep -q "$plan"; } 2>/dev/null' ||
  fail "serve: the plan was never opened"
kill -TERM "$pid"
kill -CONT "$pid"
wait "$pid"
code=$?
[ "$code" -eq 0 ] || fail "serve: SIGTERM while loading: exit $code: $(cat "$work/out")"
grep -q "shutting down" "$work/out" || fail "serve: SIGTERM while loading: no shutdown: $(cat "$work/out")"
R1VK_CACHE_DIR=$work/cache2 "$r1vk" serve "$work/ckpt" --port 0 >"$work/out" 2>&1 &
pid=$!
stop_when "$pid" '[ -n "$(find "$work/cache2" -name "*.partial*" 2>/dev/null)" ]' || fail "serve: no partial plan seen in its cache"
kill -TERM "$pid"
kill -INT "$pid"  # a different signal, so that both stay pending while the process is stopped
kill -CONT "$pid"
wait "$pid"
code=$?
[ "$code" -eq 130 ] || fail "serve: two signals while compiling into the cache: exit $code: $(cat "$work/out")"
[ -z "$(find "$work/cache2" -name '*.partial*')" ] || fail "serve: the second signal left a partial plan: $(ls -la "$work/cache2")"

[ -z "$(find "$work" -name '*.partial*' -o -name '*.tmp*')" ] || fail "a temporary file was left: $(find "$work" -name '*.partial*' -o -name '*.tmp*')"
echo "signal paths: ok"
