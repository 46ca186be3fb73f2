#!/usr/bin/env bash
# Several Vulkan devices in one process (--devices 0,0: two logical devices on one physical one):
# logits of every architecture's tiny preset equal the single-device run byte for byte, and
# greedy generation (the demo model and a preset) prints the same text; bad pipeline flags get
# clear errors.
# Usage: pipeline_devices.sh path/to/r1vk path/to/models/r1vk-demo
set -uo pipefail
r1vk=$1
demo=$2
source "$(dirname "$0")/expect.sh"
export R1VK_VALIDATION=1
# expect_exit that also refuses any validation-layer message.
expect_clean() {
  local out; out=$("${@:3}" 2>&1)
  echo "$out" | grep -qi 'validation' && fail "validation message: ${*:3} -> $out"
  expect_exit "$@"
}

tokens=0,7,300,41,2,260,9,123,5,77,18
for preset in tiny-r1 tiny-v2-lite tiny-qwen2 tiny-llama3; do
  "$r1vk" gen-checkpoint --preset "$preset" -o "$work/$preset" >/dev/null 2>&1 || fail "gen-checkpoint $preset"
  "$r1vk" compile "$work/$preset" -o "$work/$preset.r1vk" --ctx 64 --weights f16 >/dev/null 2>&1 || fail "compile $preset"
  expect_clean 0 'wrote' "$r1vk" logits "$work/$preset.r1vk" --tokens $tokens --prefill 6 --out "$work/$preset.single.npy"
  expect_clean 0 'pipeline: 2 stages' "$r1vk" logits "$work/$preset.r1vk" --tokens $tokens --prefill 6 --devices 0,0 \
    --out "$work/$preset.dual.npy"
  cmp -s "$work/$preset.single.npy" "$work/$preset.dual.npy" || fail "$preset: --devices 0,0 logits differ from one device"
  expect_clean 0 'pipeline: 2 stages, layers 0-0 \| 1-' "$r1vk" logits "$work/$preset.r1vk" --tokens $tokens --prefill 6 \
    --devices 0,0 --split 1,3 --out "$work/$preset.split.npy"
  cmp -s "$work/$preset.single.npy" "$work/$preset.split.npy" || fail "$preset: --split 1,3 logits differ from one device"
done
# Three stages (tiny-r1 has three layers).
expect_clean 0 'pipeline: 3 stages' "$r1vk" logits "$work/tiny-r1.r1vk" --tokens $tokens --prefill 6 --devices 0,0,0 \
  --out "$work/tiny-r1.triple.npy"
cmp -s "$work/tiny-r1.single.npy" "$work/tiny-r1.triple.npy" || fail "tiny-r1: three stages' logits differ from one device"

# Greedy generation: the same text.
single=$("$r1vk" run "$demo" -p "What is 1234 + 5678?" --temperature 0 2>/dev/null) || fail "run on one device"
dual=$("$r1vk" run "$demo" -p "What is 1234 + 5678?" --temperature 0 --devices 0,0 2>/dev/null) || fail "run on --devices 0,0"
[ "$single" = "$dual" ] || fail "greedy text differs: '$single' vs '$dual'"
grep -q '^6912$' <<<"$dual" || fail "the pipelined demo model did not answer 6912: $dual"
single=$("$r1vk" run "$work/tiny-qwen2.r1vk" -p "hello" --raw --temperature 0 -n 24 2>/dev/null) || fail "run tiny-qwen2"
dual=$("$r1vk" run "$work/tiny-qwen2.r1vk" -p "hello" --raw --temperature 0 -n 24 --devices 0,0 2>/dev/null) || fail "run tiny-qwen2 pipelined"
[ "$single" = "$dual" ] || fail "tiny-qwen2 greedy text differs"

# Bad flags: clear errors, usage exit code.
expect_exit 2 'at least two devices' "$r1vk" logits "$work/tiny-r1.r1vk" --tokens 1,2 --devices 0 --out "$work/x.npy"
expect_exit 2 "'x' is not a device index" "$r1vk" logits "$work/tiny-r1.r1vk" --tokens 1,2 --devices 0,x --out "$work/x.npy"
expect_exit 2 "'0x0' is not a device index" "$r1vk" logits "$work/tiny-r1.r1vk" --tokens 1,2 --devices 0,0x0 --out "$work/x.npy"
expect_exit 2 "'x' is not a ratio \(expected positive numbers, e.g. 1,3\)" "$r1vk" logits "$work/tiny-r1.r1vk" --tokens 1,2 \
  --devices 0,0 --split 1,x --out "$work/x.npy"
expect_exit 2 '--split: needs --devices or --pipeline' "$r1vk" logits "$work/tiny-r1.r1vk" --tokens 1,2 --split 1,3 --out "$work/x.npy"
expect_exit 2 '--split: needs --devices or --pipeline' "$r1vk" run "$demo" -p hi --split 1,3
expect_exit 2 '2 ratios for 3 devices' "$r1vk" logits "$work/tiny-r1.r1vk" --tokens 1,2 --devices 0,0,0 --split 1,1 --out "$work/x.npy"
expect_exit 2 'exceed the model' "$r1vk" logits "$work/tiny-qwen2.r1vk" --tokens 1,2 --devices 0,0,0 --out "$work/x.npy"
expect_exit 2 'positive' "$r1vk" logits "$work/tiny-r1.r1vk" --tokens 1,2 --devices 0,0 --split 1,0 --out "$work/x.npy"
expect_exit 2 'exclude each other' "$r1vk" logits "$work/tiny-r1.r1vk" --tokens 1,2 --devices 0,0 --device 0 --out "$work/x.npy"
echo "pipeline devices: ok"
