#!/usr/bin/env bash
# ppl, eval, chat and bench behind a pipeline, on two logical devices (--devices 0,0) and, when
# mpirun is given, on two MPI ranks (--pipeline): ppl's perplexity and eval's answers equal the
# single-device run's exactly, chat answers the demo question, bench reports each stage's time
# and busy fraction and the hidden bytes per token, without and with micro-batches.
# Usage: pipeline_commands.sh path/to/r1vk path/to/models/r1vk-demo [path/to/mpirun]
set -uo pipefail
r1vk=$1
demo=$2
mpirun=${3:-}
source "$(dirname "$0")/expect.sh"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
export OMPI_MCA_rmaps_base_oversubscribe=1

# Two worked problems as the model sees them.
text="$work/arith.txt"
printf '%s' '<｜User｜>What is 31415 - 92653?<｜Assistant｜><think>
31415 - 92653 =?
1:-5+3-0=18
2:-1+5-1=03
3:-4+6-0=02
4:-1+2-0=01
5:-3+9-0=06
</think>

-61238<｜end▁of▁sentence｜>' > "$text"
# The fields that must not differ: everything but the timings.
results() { sed -E 's/"(seconds|tokens_per_second|generation_tokens_per_second|prompt_tokens_per_second|[a-z_]*seconds)":[-0-9.eE+]+,?//g'; }

ppl_single=$("$r1vk" ppl "$demo" --file "$text" --ctx 128 --json 2>/dev/null | results) || fail "ppl on one device"
# Without MTP drafts (a pipeline has none; the answers are the same either way, the draft counts not).
eval_single=$("$r1vk" eval "$demo" --problems "$demo/heldout.jsonl" --limit 4 --json --no-mtp 2>/dev/null | results) ||
  fail "eval on one device"
grep -q '"total":4' <<<"$eval_single" || fail "eval on one device: $eval_single"

# Unbound: Open MPI pins each rank to one core by default, and lavapipe needs them all.
launchers=("devices")
[ -n "$mpirun" ] && launchers+=("mpi")
for how in "${launchers[@]}"; do
  if [ "$how" = devices ]; then
    run() { "$r1vk" "$@" --devices 0,0; }
  else
    run() { "$mpirun" --oversubscribe --bind-to none -np 2 "$r1vk" "$@" --pipeline; }
  fi
  got=$(run ppl "$demo" --file "$text" --ctx 128 --json 2>"$work/ppl.err" | results) || fail "ppl ($how): $(cat "$work/ppl.err")"
  [ "$got" = "$ppl_single" ] || fail "ppl ($how) differs from one device: '$got' vs '$ppl_single'"
  grep -q 'pipeline: 2 stages' "$work/ppl.err" || fail "ppl ($how) printed no pipeline line: $(cat "$work/ppl.err")"
  got=$(run eval "$demo" --problems "$demo/heldout.jsonl" --limit 4 --json 2>"$work/eval.err" | results) ||
    fail "eval ($how): $(cat "$work/eval.err")"
  [ "$got" = "$eval_single" ] || fail "eval ($how) differs from one device: '$got' vs '$eval_single'"
  out=$(printf 'What is 1234 + 5678?\n/exit\n' | run chat "$demo" --temperature 0 --hide-reasoning 2>&1) || fail "chat ($how): $out"
  grep -q '6912' <<<"$out" || fail "chat ($how) did not answer 6912: $out"
  # bench: a batch of 4 without and with 2 micro-batches; every stage is busy part of the time.
  out=$(run bench "$demo" --batch 1,4 --decode 3 2>&1) || fail "bench ($how): $out"
  grep -qE '^ +4 +2 .*busy [0-9]+% \| [0-9]+%; 512$' <<<"$out" || fail "bench ($how): no micro-batched row: $out"
  grep -qE '^ +4 +1 .*busy [0-9]+% \| [0-9]+%; 512$' <<<"$out" || fail "bench ($how): no row without micro-batches: $out"
done
# --micro-batches needs a pipeline, as --split does.
expect_exit 2 '--micro-batches: needs --devices or --pipeline' "$r1vk" bench "$demo" --micro-batches 2
echo "pipeline commands: ok"
