#!/usr/bin/env bash
# The model commands end to end on the bundled demo model: run (text and --json), compile with
# --dump-plan, info on the plan, logits to .npy, bench; and the clear errors bad input gets.
# Usage: cli_model_commands.sh path/to/r1vk path/to/models/r1vk-demo
set -uo pipefail
r1vk=$1
demo=$2
source "$(dirname "$0")/expect.sh"

expect_exit 0 '^6912$' "$r1vk" run "$demo" -p "What is 1234 + 5678?" --temperature 0
expect_exit 0 '"type":"done"' "$r1vk" run "$demo" -p "What is 7 + 5?" --json --temperature 0
expect_exit 0 '"finish":"length"' "$r1vk" run "$demo" -p "What is 7 + 5?" --json --max-tokens 3
expect_exit 0 'program main' "$r1vk" compile "$demo" -o "$work/demo.r1vk" --weights q8 --ctx 256 --dump-plan
expect_exit 0 'tokenizer: embedded' "$r1vk" info "$work/demo.r1vk"
expect_exit 0 '^0,2,' "$r1vk" tokenize "$work/demo.r1vk" --text "<｜begin▁of▁sentence｜><｜User｜>1+1"
expect_exit 0 '^<｜User｜>12$' "$r1vk" tokenize "$work/demo.r1vk" --ids 2,55,56
expect_exit 0 'wrote .*\[5, 272\]' "$r1vk" logits "$work/demo.r1vk" --tokens 0,2,30,40,3 --prefill 3 --out "$work/l.npy"
head -c 6 "$work/l.npy" | grep -q NUMPY || fail "logits file is not .npy"
[ "$(stat -c %s "$work/l.npy")" -eq $((128 + 5 * 272 * 4)) ] || fail "logits file has the wrong size"
expect_exit 0 'queue submit\(s\) per step' "$r1vk" bench "$work/demo.r1vk" --prompt 32 --decode 4 --long-context 100
# --each-op: every op of the profiled prefill chunk by its plan label (the last layer's attention among them).
expect_exit 0 ' [0-9]+ layers\.3\.attn\.core +mla_attention +[0-9.]+ ms' "$r1vk" bench "$work/demo.r1vk" --prompt 32 --decode 2 \
  --long-context 0 --mtp-decode 0 --each-op

# Bad input: clear message, non-zero exit, never a crash.
expect_exit 1 'does not exist' "$r1vk" run "$work/nope" -p hi
expect_exit 2 'temperature' "$r1vk" run "$demo" -p hi --temperature -1
expect_exit 2 'is not a token id' "$r1vk" logits "$work/demo.r1vk" --tokens 1,x --out "$work/x.npy"
expect_exit 2 'outside the vocabulary' "$r1vk" logits "$work/demo.r1vk" --tokens 1,99999 --out "$work/x.npy"
expect_exit 1 "context full" "$r1vk" logits "$work/demo.r1vk" --tokens "$(seq -s, 1 300 | sed "s/[0-9]*/7/g")" --out "$work/x.npy"
expect_exit 2 'unknown weight format' "$r1vk" compile "$demo" -o "$work/y.r1vk" --weights q3
expect_exit 2 'exceeds the model' "$r1vk" compile "$demo" -o "$work/y.r1vk" --ctx 100000
printf 'garbage' > "$work/bad.r1vk"
expect_exit 1 'not an r1vk plan' "$r1vk" run "$work/bad.r1vk" -p hi
expect_exit 2 'prompt is required' "$r1vk" run "$demo"
expect_exit 2 '--prefill-chunk: must be >= 0' "$r1vk" compile "$demo" -o "$work/y.r1vk" --prefill-chunk -1
expect_exit 1 'nope: does not exist' "$r1vk" compile "$work/nope" -o "$work/y.r1vk"
# -o naming a file the compile reads is refused and leaves it intact; an old plan may be replaced.
cp -r "$demo" "$work/victim"
for f in config.json model.safetensors tokenizer.json; do
  sum=$(md5sum <"$work/victim/$f")
  expect_exit 2 "which the compile reads" "$r1vk" compile "$work/victim" -o "$work/victim/$f"
  [ "$(md5sum <"$work/victim/$f")" = "$sum" ] || fail "compile -o $f changed the checkpoint's $f"
done
expect_exit 0 'wrote' "$r1vk" compile "$work/victim" -o "$work/victim/old.r1vk" --ctx 64
expect_exit 0 'wrote' "$r1vk" compile "$work/victim" -o "$work/victim/old.r1vk" --ctx 64
# A tokenizer the runtime cannot load is reported at compile time, not at the first run.
python3 - "$work/victim/tokenizer.json" <<'PY'
import json, sys
t = json.load(open(sys.argv[1]))
t["normalizer"] = {"type": "Lowercase"}
json.dump(t, open(sys.argv[1], "w"))
PY
expect_exit 0 'embedded tokenizer cannot be loaded.*Lowercase' "$r1vk" compile "$work/victim" -o "$work/victim/old.r1vk" --ctx 64
# Commands that compile a checkpoint on the fly share one cached plan whatever their token counts
# (the context is part of the cache key: one plan per count would cost a compile and a plan each).
mkdir -p "$work/cache"
for toks in 1,2,3 1,2,3,4,5,6,7; do
  R1VK_CACHE_DIR="$work/cache" "$r1vk" logits "$demo" --tokens $toks --out "$work/c.npy" >/dev/null 2>&1 ||
    fail "logits $toks on the checkpoint"
done
[ "$(ls "$work/cache" | grep -c '\.r1vk$')" -eq 1 ] || fail "logits cached more than one plan: $(ls "$work/cache")"
# A chat line that is not UTF-8 costs that line, not the conversation.
out=$(printf 'caf\351\nWhat is 3 + 3?\n' | "$r1vk" chat "$work/demo.r1vk" --temperature 0 --hide-reasoning 2>&1) ||
  fail "chat exited $? after a line that is not UTF-8: $out"
grep -q 'not valid UTF-8.*(line ignored)' <<<"$out" || fail "chat did not name the bad line: $out"
grep -q '^> 6$' <<<"$out" || fail "chat did not answer after the bad line: $out"
# A --gpu-memory budget the experts fill still holds the session the command creates: its draft
# count sizes its MTP buffers (the load reserved a one-draft session's, so --draft 2 failed).
for d in 1 2 3; do
  need=$("$r1vk" run "$work/demo.r1vk" -p hi --draft $d --gpu-memory 1 2>&1 | sed -n 's/.*at least \([0-9][0-9]*\) bytes.*/\1/p')
  [ -n "$need" ] || fail "run --draft $d --gpu-memory 1 did not name the bytes it needs"
  expect_exit 0 '^6$' "$r1vk" run "$work/demo.r1vk" -p "What is 3 + 3?" --temperature 0 --draft $d --gpu-memory "$need"
done
# bench under a budget: its MTP comparison's sessions are reserved too (they once failed the run).
need=$("$r1vk" bench "$work/demo.r1vk" --prompt 8 --decode 2 --long-context 0 --mtp-decode 8 --gpu-memory 1 2>&1 |
  sed -n 's/.*at least \([0-9][0-9]*\) bytes.*/\1/p')
[ -n "$need" ] || fail "bench --gpu-memory 1 did not name the bytes it needs"
expect_exit 0 'MTP speculative decoding.*output identical' "$r1vk" bench "$work/demo.r1vk" --prompt 8 --decode 2 \
  --long-context 0 --mtp-decode 8 --gpu-memory "$need"
# A plan whose step has one row has no room for a draft: MTP is off by default there (run, chat),
# and only an explicit draft count is refused.
expect_exit 0 'wrote' "$r1vk" compile "$demo" -o "$work/chunk1.r1vk" --weights q4 --ctx 128 --prefill-chunk 1
expect_exit 0 '^6$' "$r1vk" run "$work/chunk1.r1vk" -p "What is 3 + 3?" --temperature 0
expect_exit 0 '^> 6$' "$r1vk" chat "$work/chunk1.r1vk" --temperature 0 --hide-reasoning <<<"What is 3 + 3?"
expect_exit 2 'at most 0 .*1-row step' "$r1vk" run "$work/chunk1.r1vk" -p hi --draft 2
echo "model commands: ok"
