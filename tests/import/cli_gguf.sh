#!/usr/bin/env bash
# GGUF through the CLI: gen-checkpoint --gguf, info, tokenize, compile; the F16 GGUF's logits on
# the device equal the safetensors checkpoint's (both compiled to f16 plans); bad files exit 1.
set -uo pipefail
r1vk=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }
export R1VK_CACHE_DIR="$tmp/cache"

"$r1vk" gen-checkpoint --preset tiny-qwen2 -o "$tmp/q" --gguf "$tmp/q.gguf" >/dev/null || fail "gen --gguf"
out=$("$r1vk" info "$tmp/q.gguf") || fail "info gguf"
grep -q "qwen2 -> Qwen2ForCausalLM" <<<"$out" || fail "architecture: $out"
grep -q "F16 " <<<"$out" || fail "type breakdown: $out"
a=$("$r1vk" tokenize "$tmp/q" --text "hello world") || fail "tokenize dir"
"$r1vk" tokenize "$tmp/q.gguf" --text "hello world" >/dev/null || fail "tokenize gguf"
"$r1vk" compile "$tmp/q" -o "$tmp/a.r1vk" --weights f16 >/dev/null || fail "compile dir"
"$r1vk" compile "$tmp/q.gguf" -o "$tmp/b.r1vk" --weights f16 -v >"$tmp/v" || fail "compile gguf"
grep -q "normalised MSE" "$tmp/v" || fail "compile -v: $(cat "$tmp/v")"
"$r1vk" logits "$tmp/a.r1vk" --tokens 1,5,17,3 --out "$tmp/a.npy" >/dev/null || fail "logits dir"
"$r1vk" logits "$tmp/b.r1vk" --tokens 1,5,17,3 --out "$tmp/b.npy" >/dev/null || fail "logits gguf"
cmp -s "$tmp/a.npy" "$tmp/b.npy" || fail "F16 GGUF logits differ from the safetensors checkpoint's"
# MODEL as a GGUF file compiles into the plan cache.
"$r1vk" logits "$tmp/q.gguf" --tokens 1,5 --out "$tmp/c.npy" >/dev/null 2>&1 || fail "logits on MODEL=gguf"

head -c 100 "$tmp/q.gguf" >"$tmp/cut.gguf"
"$r1vk" info "$tmp/cut.gguf" 2>"$tmp/err"; rc=$?
[ "$rc" -eq 1 ] || fail "truncated gguf exited $rc"
grep -q "cut.gguf: .* cannot fit in a file of 100 bytes" "$tmp/err" || fail "message: $(cat "$tmp/err")"
echo "ok"
