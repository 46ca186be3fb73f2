#!/usr/bin/env bash
# The pipeline across processes (mpirun -np 2 and -np 3 on localhost, one stage per rank): logits
# equal the single-process run byte for byte, greedy generation prints the same text; a rank
# killed mid-run ends the job within seconds with a message naming it (plain mpirun exits non-zero);
# a checkpoint run into an empty plan cache is compiled once, by rank 0.
# Usage: pipeline_mpi.sh path/to/r1vk path/to/models/r1vk-demo path/to/mpirun
set -uo pipefail
r1vk=$1
demo=$2
mpirun=$3
source "$(dirname "$0")/expect.sh"
# Root in containers and CI; more ranks than cores on small machines.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1
# Unbound: Open MPI binds each rank to one core by default, and lavapipe needs them all.
mpi() { "$mpirun" --oversubscribe --bind-to none -np "$@"; }

tokens=0,7,300,41,2,260,9,123,5,77,18
for preset in tiny-r1 tiny-v2-lite tiny-qwen2 tiny-llama3; do
  "$r1vk" gen-checkpoint --preset "$preset" -o "$work/$preset" >/dev/null 2>&1 || fail "gen-checkpoint $preset"
  "$r1vk" compile "$work/$preset" -o "$work/$preset.r1vk" --ctx 64 --weights f16 >/dev/null 2>&1 || fail "compile $preset"
  expect_exit 0 'wrote' "$r1vk" logits "$work/$preset.r1vk" --tokens $tokens --prefill 6 --out "$work/$preset.single.npy"
  expect_exit 0 'pipeline: 2 stages' mpi 2 "$r1vk" logits "$work/$preset.r1vk" --tokens $tokens --prefill 6 --pipeline \
    --out "$work/$preset.mpi2.npy"
  cmp -s "$work/$preset.single.npy" "$work/$preset.mpi2.npy" || fail "$preset: mpirun -np 2 logits differ from one process"
done
for preset in tiny-r1 tiny-v2-lite; do  # three layers: three ranks
  expect_exit 0 'pipeline: 3 stages' mpi 3 "$r1vk" logits "$work/$preset.r1vk" --tokens $tokens --prefill 6 --pipeline \
    --out "$work/$preset.mpi3.npy"
  cmp -s "$work/$preset.single.npy" "$work/$preset.mpi3.npy" || fail "$preset: mpirun -np 3 logits differ from one process"
done

# Greedy generation: the same pieces from 2 and 3 ranks (the demo model has four layers). --json,
# without its timing line: mpirun gives ranks a terminal, which changes the plain output's colours.
pieces() { grep -v '"type":"done"'; }
single=$("$r1vk" run "$demo" -p "What is 1234 + 5678?" --temperature 0 --json 2>/dev/null | pieces) || fail "run in one process"
[ "$(echo "$single" | grep '"type":"answer"' | sed 's/.*"text":"\([^"]*\)".*/\1/' | tr -d '\n')" = 6912 ] || fail "the demo model did not answer 6912: $single"
for n in 2 3; do
  piped=$(mpi $n "$r1vk" run "$demo" -p "What is 1234 + 5678?" --temperature 0 --json --pipeline 2>/dev/null | pieces) ||
    fail "run on $n ranks"
  [ "$single" = "$piped" ] || fail "greedy text differs on $n ranks: '$single' vs '$piped'"
done
# A checkpoint (not a plan) into an empty cache: rank 0 compiles, the others wait for it and read
# the same plan (before, every rank compiled at once and one failed moving its plan into place).
for n in 2 3; do
  piped=$(R1VK_CACHE_DIR=$work/cache$n mpi $n "$r1vk" run "$demo" -p "What is 1234 + 5678?" --temperature 0 --json \
    --pipeline 2>"$work/fresh$n.log" | pieces) || fail "run on $n ranks with an empty cache: $(cat "$work/fresh$n.log")"
  [ "$single" = "$piped" ] || fail "greedy text differs on $n ranks with an empty cache: '$single' vs '$piped'"
  [ "$(find "$work/cache$n" -name '*.r1vk' | wc -l)" -eq 1 ] || fail "$n ranks, empty cache: not one plan: $(ls "$work/cache$n")"
done

# Bad use: one rank only.
expect_exit 2 'at least two MPI ranks' mpi 1 "$r1vk" logits "$work/tiny-r1.r1vk" --tokens 1,2 --pipeline --out "$work/x.npy"

# A rank killed mid-run: the job ends within seconds, naming rank 1. Once as users start it:
# mpirun tears the job down and exits non-zero. Once with --enable-recovery, where the job
# survives the death and the ranks' own watchdog (--pipeline-timeout) must find the lost rank and
# abort (Open MPI 4.1's mpirun then exits 0 whatever the ranks did, so only the message is checked).
long=$(seq -s, 1 1500 | sed 's/[0-9]*/7/g')
"$r1vk" compile "$work/tiny-r1" -o "$work/long.r1vk" --ctx 2048 --weights f16 >/dev/null 2>&1 || fail "compile a long plan"
for recovery in "" "--enable-recovery"; do
  log="$work/kill${recovery}.log"
  timeout 120 "$mpirun" --oversubscribe --bind-to none $recovery -np 3 "$r1vk" logits "$work/long.r1vk" --tokens "$long" \
    --prefill 1 --pipeline --pipeline-timeout 3 --out "$work/kill.npy" >"$log" 2>&1 </dev/null &
  job=$!
  # Wait until every rank is ready, let the steps start, then kill rank 1.
  for _ in $(seq 1 600); do [ "$(grep -c 'ready' "$log")" -ge 3 ] && break; sleep 0.1; done
  [ "$(grep -c 'ready' "$log")" -ge 3 ] || fail "the pipeline never became ready: $(cat "$log")"
  sleep 1
  victim=""
  for pid in $(pgrep -P "$(pgrep -P "$job" | head -1)") $(pgrep -P "$job"); do
    tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qx 'OMPI_COMM_WORLD_RANK=1' && victim=$pid
  done
  [ -n "$victim" ] || fail "no rank 1 process under mpirun"
  start=$(date +%s)
  kill -9 "$victim"
  wait "$job"
  code=$?
  took=$(($(date +%s) - start))
  [ -n "$recovery" ] || [ "$code" -ne 0 ] || fail "killing rank 1 left exit code 0: $(cat "$log")"
  [ "$took" -le 20 ] || fail "the job took ${took}s to end after rank 1 was killed ($recovery)"
  grep -qE 'rank 1' "$log" || fail "no message names rank 1 ($recovery): $(cat "$log")"
  if [ -n "$recovery" ]; then
    grep -q 'pipeline rank 1 lost' "$log" || fail "the watchdog did not name rank 1: $(cat "$log")"
    # r1vk's own line, not Open MPI's "MPI_ABORT was invoked": that help text is lost when
    # ORTE's show_help fails to unpack, as it sometimes does after a rank died.
    grep -q 'aborts the MPI job' "$log" || fail "the job was not aborted: $(cat "$log")"
  fi
done
echo "pipeline mpi: ok"
