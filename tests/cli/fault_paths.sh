#!/usr/bin/env bash
# Failure paths end to end, through injected device faults (R1VK_FAULT, see
# runtime/vulkan/fault_injection.h) and real OS limits: out of device memory at any allocation,
# the device lost at any submit or wait, a write failure while compiling, SIGINT/SIGTERM while
# compiling. Each must end in a clear message and exit status 1 (or the signal's), never a
# crash or a hang, and no plan or partial plan may be left on disk.
# Usage: fault_paths.sh path/to/r1vk path/to/models/r1vk-demo
set -uo pipefail
r1vk=$1
demo=$2
source "$(dirname "$0")/expect.sh"

plan=$work/demo.r1vk
"$r1vk" compile "$demo" -o "$plan" --ctx 128 >/dev/null 2>&1 || fail "compiling the demo model"
run=("$r1vk" run "$plan" -p "What is 1 + 1?" --temperature 0 --max-tokens 24)

# Out of device memory at the first allocation of the load names what did not fit.
expect_exit 1 'out of device memory: needed [0-9]+ more bytes' env R1VK_FAULT=alloc:1 "${run[@]}"
# Any allocation failing, the device lost at any submit or wait: a clean error or, past the last
# such call, a normal answer. Sampled calls, until one passes the end of the run.
for site in alloc submit wait; do
  finished=0
  for n in 1 2 3 4 6 9 14 20 30 45 70 100 150 250 400; do
    out=$(env R1VK_FAULT=$site:$n timeout 300 "${run[@]}" 2>&1)
    code=$?
    if [ "$code" -eq 0 ]; then
      [ "$n" -gt 1 ] || fail "R1VK_FAULT=$site:1 changed nothing: is fault injection compiled in?"
      finished=1
      break
    fi
    [ "$code" -eq 1 ] || fail "R1VK_FAULT=$site:$n: exit $code (crash or hang): $out"
    grep -qE 'out of device memory: needed|VK_ERROR_DEVICE_LOST' <<<"$out" ||
      fail "R1VK_FAULT=$site:$n: unclear message: $out"
  done
  [ "$finished" -eq 1 ] || fail "R1VK_FAULT=$site: no sampled call was past the end of the run"
done

# A write failure while compiling (the file size limit; SIGXFSZ ignored, so write() fails with
# EFBIG as on a full disk): a clear error and no plan, partial or whole.
out=$(ulimit -f 64; trap '' XFSZ; "$r1vk" compile "$demo" -o "$work/small.r1vk" --ctx 128 2>&1)
code=$?
[ "$code" -eq 1 ] || fail "compile over the file size limit: exit $code: $out"
grep -qE 'writing .*small\.r1vk\.partial\.[0-9.]+: File too large' <<<"$out" || fail "unclear write error: $out"
[ ! -e "$work/small.r1vk" ] && [ -z "$(find "$work" -maxdepth 1 -name 'small.r1vk.partial*')" ] || fail "a failed compile left a plan behind"

# SIGINT / SIGTERM while compiling: the process ends by the signal and removes its partial plan.
"$r1vk" gen-checkpoint --preset tiny-r1 --out "$work/ckpt" >/dev/null || fail "gen-checkpoint"
interrupted=0
for sig in INT TERM INT TERM; do
  target=$work/sig.r1vk
  "$r1vk" compile "$work/ckpt" -o "$target" --weights q4 >/dev/null 2>&1 &
  pid=$!
  for _ in $(seq 1 1000); do
    [ -n "$(find "$work" -maxdepth 1 -name 'sig.r1vk.partial*')" ] && break
    sleep 0.01
  done
  # Stopped first, so the signal lands while the plan is being written (unless it just finished).
  kill -STOP "$pid" 2>/dev/null
  kill -"$sig" "$pid" 2>/dev/null
  kill -CONT "$pid" 2>/dev/null
  wait "$pid"
  code=$?
  [ -z "$(find "$work" -maxdepth 1 -name 'sig.r1vk.partial*')" ] || fail "SIG$sig left a partial plan behind"
  if [ -e "$target" ]; then
    # The compile won the race: what is on disk must be a whole, valid plan.
    "$r1vk" info "$target" >/dev/null 2>&1 || fail "SIG$sig: the plan on disk does not open"
    rm -f "$target"
  else
    [ "$code" -eq $((128 + $(kill -l "$sig"))) ] || fail "SIG$sig: exit $code, no plan"
    interrupted=$((interrupted + 1))
  fi
done
[ "$interrupted" -gt 0 ] || fail "every compile finished before its signal: nothing was tested"
echo "fault paths: ok ($interrupted of 4 compiles interrupted)"
