#!/usr/bin/env bash
# What r1vk writes for other tools, read by independent readers (tests/cli/check_outputs.py:
# numpy for .npy, Python's json module for JSON): logits .npy (shape, dtype and values against
# PyTorch's golden logits), run --json events, ppl/eval/devices --json, gen-checkpoint's files.
# Usage: cli_output_formats.sh path/to/r1vk path/to/models/r1vk-demo path/to/tests/data/demo_logits
set -uo pipefail
r1vk=$1
demo=$2
golden=$3
source "$(dirname "$0")/expect.sh"
# Debian's interpreter, where scripts/install-deps.sh put python3-numpy (not a python3 that PATH
# may find first, e.g. pyenv's).
py=${R1VK_PYTHON:-/usr/bin/python3}
check="$py $(dirname "$0")/check_outputs.py"

# The first 7 golden tokens (the prompt's start), f32 weights: PyTorch's math on the same weights.
tokens=$($py -c "import json,sys; print(','.join(map(str, json.load(open(sys.argv[1]))['tokens'][:7])))" "$golden/golden.json")
expect_exit 0 'wrote .*\[7, 272\]' "$r1vk" logits "$demo" --weights f32 --tokens "$tokens" --out "$work/l.npy"
$check npy "$work/l.npy" "$golden" 7 || fail "logits .npy"
# A 1-row file: shape (1, vocab), not (vocab,) or (1,).
one=${tokens%%,*}
expect_exit 0 'wrote .*\[1, 272\]' "$r1vk" logits "$demo" --weights f32 --tokens "$one" --out "$work/one.npy"
$check npy "$work/one.npy" "$golden" 1 || fail "1-row logits .npy"

"$r1vk" run "$demo" -p "What is 7 + 5?" --json --temperature 0 > "$work/run.jsonl" 2>"$work/err" || fail "run --json: $(cat "$work/err")"
$check jsonl "$work/run.jsonl" || fail "run --json"
# Text with quotes, backslashes and non-ASCII must survive JSON escaping.
"$r1vk" run "$demo" -p 'What is "7" \ 5 ü?' --json --max-tokens 8 > "$work/odd.jsonl" 2>"$work/err" || fail "run --json: $(cat "$work/err")"
$check jsonl "$work/odd.jsonl" || fail "run --json with odd text"

printf '%s' '<｜User｜>What is 4512 + 873?<｜Assistant｜><think>
1: 2+3+0=05
</think>

5385<｜end▁of▁sentence｜>' > "$work/t.txt"
"$r1vk" ppl "$demo" --file "$work/t.txt" --weights f16 --ctx 256 --json > "$work/ppl.json" 2>"$work/err" || fail "ppl --json: $(cat "$work/err")"
$check json "$work/ppl.json" perplexity mean_nll windows bos || fail "ppl --json"
"$r1vk" eval "$demo" --problems "$demo/heldout.jsonl" --weights f16 --limit 2 --json > "$work/eval.json" 2>"$work/err" || fail "eval --json: $(cat "$work/err")"
$check json "$work/eval.json" accuracy total correct by_kind || fail "eval --json"
"$r1vk" devices --json > "$work/devices.json" 2>"$work/err" || fail "devices --json: $(cat "$work/err")"
$check json "$work/devices.json" default devices.index || fail "devices --json"
# gen-checkpoint writes Hugging Face checkpoints: safetensors by its spec, JSON by Python's json.
expect_exit 0 'wrote' "$r1vk" gen-checkpoint --preset tiny-r1 --shards 2 -o "$work/ckpt"
$check checkpoint "$work/ckpt" || fail "gen-checkpoint files"
echo "output formats: ok"
