#!/usr/bin/env bash
# r1vk gen-checkpoint + r1vk info end to end, and their exit codes on bad input (0 / 1 / 2).
# `logits` runs on the Vulkan device (lavapipe in CI).
set -uo pipefail
r1vk=$1
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "FAIL: $*" >&2; exit 1; }

"$r1vk" gen-checkpoint --preset tiny-r1 --fp8 --shards 2 --seed 3 -o "$tmp/r1" >/dev/null || fail "gen tiny-r1"
out=$("$r1vk" info "$tmp/r1") || fail "info tiny-r1"
grep -q "DeepseekV3ForCausalLM" <<<"$out" || fail "architecture: $out"
grep -q "total 6932880 " <<<"$out" || fail "total parameters: $out"
grep -q "active per token 5089680 " <<<"$out" || fail "active parameters: $out"
grep -q "F8_E4M3 *104 tensors" <<<"$out" || fail "dtype breakdown: $out"
grep -q "kv cache *3456 bytes per token" <<<"$out" || fail "kv cache: $out"
grep -q "in 2 file(s)" <<<"$out" || fail "shards: $out"

# A re-upload that stripped the MTP layer but kept num_nextn_predict_layers: 1 in config.json
# (transformers ignores the layer): info and compile warn once and go on, the plan has no MTP
# program, and the main model runs.
"$r1vk" gen-checkpoint --preset tiny-r1 --mtp 0 --seed 3 -o "$tmp/nomtp" >/dev/null || fail "gen tiny-r1 --mtp 0"
python3 - "$tmp/nomtp/config.json" <<'PY' || fail "edit config.json"
import json, sys
c = json.load(open(sys.argv[1]))
c["num_nextn_predict_layers"] = 1
json.dump(c, open(sys.argv[1], "w"))
PY
out=$("$r1vk" info "$tmp/nomtp" 2>"$tmp/err") || fail "info without the MTP layer: $(cat "$tmp/err")"
grep -q "multi-token prediction (MTP) is unavailable" "$tmp/err" || fail "no MTP warning: $(cat "$tmp/err")"
[ "$(grep -c "r1vk: warning" "$tmp/err")" -eq 1 ] || fail "warned more than once: $(cat "$tmp/err")"
grep -q "(+0 MTP; config.json declares 1" <<<"$out" || fail "layers line: $out"
"$r1vk" compile "$tmp/nomtp" -o "$tmp/nomtp.r1vk" --ctx 32 >/dev/null 2>"$tmp/err" || fail "compile: $(cat "$tmp/err")"
[ "$(grep -c "multi-token prediction (MTP) is unavailable" "$tmp/err")" -eq 1 ] || fail "compile warning: $(cat "$tmp/err")"
out=$("$r1vk" info "$tmp/nomtp.r1vk") || fail "info on the plan"
grep -q "no MTP program" <<<"$out" || fail "plan info: $out"
"$r1vk" logits "$tmp/nomtp.r1vk" --tokens 1,2,3 --out "$tmp/l.npy" >/dev/null 2>"$tmp/err" || fail "logits: $(cat "$tmp/err")"

"$r1vk" info "$tmp/missing" 2>"$tmp/err"; rc=$?
[ "$rc" -eq 1 ] || fail "info on a missing dir exited $rc"
grep -q "missing: does not exist" "$tmp/err" || fail "message: $(cat "$tmp/err")"
: >"$tmp/file"
"$r1vk" info "$tmp/file" 2>"$tmp/err"; rc=$?
[ "$rc" -eq 1 ] || fail "info on a file exited $rc"
grep -q "not an r1vk plan" "$tmp/err" || fail "message: $(cat "$tmp/err")"

printf '{"architectures": ["GPT2LMHeadModel"]}' >"$tmp/r1/config.json"
"$r1vk" info "$tmp/r1" 2>"$tmp/err"; rc=$?
[ "$rc" -eq 1 ] || fail "unknown architecture exited $rc"
grep -q "unknown architecture 'GPT2LMHeadModel'" "$tmp/err" || fail "message: $(cat "$tmp/err")"

"$r1vk" info >/dev/null 2>&1; rc=$?
[ "$rc" -eq 2 ] || fail "info without DIR exited $rc"
"$r1vk" gen-checkpoint --preset nope -o "$tmp/x" 2>"$tmp/err"; rc=$?
[ "$rc" -eq 2 ] || fail "unknown preset exited $rc"
grep -q "unknown preset 'nope'" "$tmp/err" || fail "message: $(cat "$tmp/err")"
"$r1vk" gen-checkpoint --preset tiny-qwen2 --fp8 -o "$tmp/x" 2>"$tmp/err"; rc=$?
[ "$rc" -eq 2 ] || fail "FP8 qwen2 exited $rc"
grep -q "quantization_config" "$tmp/err" || fail "message: $(cat "$tmp/err")"
echo "ok"
