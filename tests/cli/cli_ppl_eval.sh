#!/usr/bin/env bash
# r1vk ppl and r1vk eval end to end on the bundled demo model: the report lines and --json, a
# model against itself (KL exactly 0, full agreement), q4 against f16 (KL small and positive),
# accuracy on the first held-out problems, and the clear errors bad input gets.
# (The numbers themselves are checked against independent computations in tests/api.)
# Usage: cli_ppl_eval.sh path/to/r1vk path/to/models/r1vk-demo
set -uo pipefail
r1vk=$1
demo=$2
source "$(dirname "$0")/expect.sh"
json_number() {  # key, json text
  echo "$2" | grep -oE "\"$1\":[-0-9.eE+]+" | head -1 | cut -d: -f2
}

# Two worked problems as the model sees them (chat tokens included, BOS added by ppl).
text="$work/arith.txt"
printf '%s' '<｜User｜>What is 31415 - 92653?<｜Assistant｜><think>
31415 - 92653 =?
1:-5+3-0=18
2:-1+5-1=03
3:-4+6-0=02
4:-1+2-0=01
5:-3+9-0=06
</think>

-61238<｜end▁of▁sentence｜><｜User｜>What is 4512 + 873?<｜Assistant｜><think>
4512 + 873 =?
1: 2+3+0=05
2: 1+7+0=08
3: 5+8+0=13
4: 4+0+1=05
</think>

5385<｜end▁of▁sentence｜>' > "$text"

expect_exit 0 'tokens scored in 1 window' "$r1vk" ppl "$demo" --file "$text" --weights f16 --ctx 256
expect_exit 0 'perplexity [0-9.]+' "$r1vk" ppl "$demo" --file "$text" --weights f16 --ctx 256
expect_exit 0 '4 window' "$r1vk" ppl "$demo" --file "$text" --weights f16 --ctx 64
out=$("$r1vk" ppl "$demo" --file "$text" --weights f16 --ctx 256 --kl-ref "$demo" --ref-weights f16 2>&1) || fail "self KL: $out"
grep -q 'mean 0, p99 0, max 0 nats; top-1 agreement 100.00%' <<<"$out" || fail "self KL is not exactly 0: $out"
out=$("$r1vk" ppl "$demo" --file "$text" --weights q4 --ctx 256 --kl-ref "$demo" --ref-weights f16 --json 2>&1) || fail "q4 KL: $out"
[ "$(echo "$out" | wc -l)" -eq 1 ] || fail "--json printed more than one line: $out"
kl=$(json_number kl_mean "$out")
# q4 on a hidden size of 128 is coarse: 0.15 nats measured on the v3 weights (2026-12-06), the
# held-out floor still holding in q4 (demo_accuracy_tests); a broken q4 path gives nats, not tenths.
awk -v k="$kl" 'BEGIN { exit !(k > 0 && k < 0.25) }' || fail "q4 vs f16 mean KL $kl not in (0, 0.25): $out"
agree=$(json_number top1_agreement "$out")
awk -v a="$agree" 'BEGIN { exit !(a >= 0.9) }' || fail "q4 vs f16 top-1 agreement $agree < 0.9"

expect_exit 0 'accuracy [0-9.]+% \([0-9]+/20\)' "$r1vk" eval "$demo" --problems "$demo/heldout.jsonl" --weights f16 --limit 20
expect_exit 0 '"total":20' "$r1vk" eval "$demo" --problems "$demo/heldout.jsonl" --weights f16 --limit 20 --json
printf '{"question": "What is 2 + 2?", "answer": "5", "kind": "wrong on purpose"}\n' > "$work/wrong.jsonl"
expect_exit 0 'wrong \(line 1\): What is 2 \+ 2\? -> "4" \(expected 5\)' "$r1vk" eval "$demo" --problems "$work/wrong.jsonl" --weights f16 -v
expect_exit 0 'wrong on purpose: 0.00% \(0/1\)' "$r1vk" eval "$demo" --problems "$work/wrong.jsonl" --weights f16

# Bad input: clear message, non-zero exit, never a crash.
expect_exit 1 'does not exist' "$r1vk" ppl "$demo" --file "$work/nope.txt"
: > "$work/empty.txt"
expect_exit 2 'is empty' "$r1vk" ppl "$demo" --file "$work/empty.txt"
printf '7' > "$work/one.txt"
expect_exit 2 'at least 2' "$r1vk" ppl "$demo" --file "$work/one.txt" --weights f16 --ctx 64
expect_exit 2 '--ctx must be at least 2' "$r1vk" ppl "$demo" --file "$text" --ctx 1
expect_exit 2 'ctx' "$r1vk" ppl "$demo" --file "$text" --ctx abc
expect_exit 2 'file is required' "$r1vk" ppl "$demo"
"$r1vk" gen-checkpoint --preset tiny-r1 -o "$work/tiny" > /dev/null 2>&1 || fail "gen-checkpoint"
expect_exit 2 'vocabulary of 613 tokens' "$r1vk" ppl "$demo" --file "$text" --weights f16 --ctx 64 --kl-ref "$work/tiny"
expect_exit 1 'does not exist' "$r1vk" eval "$demo" --problems "$work/nope.jsonl"
printf '{"question": "q", "answer": "a"}\n{"question": "q", "answer": \n' > "$work/bad.jsonl"
expect_exit 1 'line 2' "$r1vk" eval "$demo" --problems "$work/bad.jsonl"
printf '{"question": "q"}\n' > "$work/noanswer.jsonl"
expect_exit 1 'line 1: missing "answer"' "$r1vk" eval "$demo" --problems "$work/noanswer.jsonl"
python3 -c 'import json; print(json.dumps({"question": "What is 2 + 2?", "answer": "4"})); print(json.dumps({"question": "1 + " * 800, "answer": "1"}))' >"$work/long.jsonl"
expect_exit 1 'problem 2 \(line 2\): context full' "$r1vk" eval "$demo" --problems "$work/long.jsonl" --weights f16
expect_exit 2 'problems is required' "$r1vk" eval "$demo"
expect_exit 2 'limit' "$r1vk" eval "$demo" --problems "$demo/heldout.jsonl" --limit -1
echo "ppl and eval commands: ok"
