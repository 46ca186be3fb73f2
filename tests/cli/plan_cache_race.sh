#!/usr/bin/env bash
# Several processes compiling the same checkpoint into one empty plan cache at once (as when two
# `r1vk run CHECKPOINT` start together): every one must succeed, and the cache must end with one
# whole plan and no temporary file. Each writer has a temp file of its own; the last rename wins.
# Usage: plan_cache_race.sh path/to/r1vk path/to/models/r1vk-demo
set -uo pipefail
r1vk=$1
demo=$2
source "$(dirname "$0")/expect.sh"

for round in 1 2 3; do
  cache=$work/cache$round
  pids=()
  for i in 1 2 3; do
    R1VK_CACHE_DIR=$cache "$r1vk" run "$demo" -p "What is 1234 + 5678?" --temperature 0 --max-tokens 2 --json \
      >"$work/out$round.$i" 2>&1 &
    pids+=($!)
  done
  for i in 0 1 2; do
    wait "${pids[$i]}" || fail "round $round: run $((i + 1)) of 3 failed: $(cat "$work/out$round.$((i + 1))")"
  done
  plans=$(find "$cache" -name '*.r1vk' | wc -l)
  [ "$plans" -eq 1 ] || fail "round $round: $plans plans in the cache: $(ls -la "$cache")"
  [ -z "$(find "$cache" -name '*.partial*')" ] || fail "round $round: a temporary file was left: $(ls -la "$cache")"
  "$r1vk" info "$(find "$cache" -name '*.r1vk')" >/dev/null 2>&1 || fail "round $round: the cached plan does not open"
done

# Concurrent `r1vk compile` to one output path: the same.
pids=()
for i in 1 2 3; do
  "$r1vk" compile "$demo" -o "$work/same.r1vk" --ctx 128 >"$work/compile$i" 2>&1 &
  pids+=($!)
done
for i in 0 1 2; do
  wait "${pids[$i]}" || fail "compile $((i + 1)) of 3 failed: $(cat "$work/compile$((i + 1))")"
done
"$r1vk" info "$work/same.r1vk" >/dev/null 2>&1 || fail "the plan written by concurrent compiles does not open"
[ -z "$(find "$work" -maxdepth 1 -name 'same.r1vk.partial*')" ] || fail "a concurrent compile left a temporary file"
echo "plan cache race: ok"
