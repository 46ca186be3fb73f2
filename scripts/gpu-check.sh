#!/usr/bin/env bash
# The GPU check (docs/gpu_check.md): on a bare x86-64 Linux machine with a GPU and no network,
# from a repository checkout carrying gpu-bundle/ (scripts/gpu-bundle.sh), it lists the device,
# runs the kernel and end-to-end logit tests on it, times the kernels and whole models, and
# prints one table: time, GB/s and % of the measured copy bandwidth per kernel; tokens/s per
# model and its fraction of the decode bandwidth roofline. Everything lands in one folder.
#
#   scripts/gpu-check.sh [OUT_DIR]     (default: $OUT when set, else gpu-check-out/)
#
# Environment: R1VK_GPU_CHECK_QUICK=1 shrinks every shape (a smoke run, e.g. on lavapipe);
# R1VK_PEAK_TFLOPS=N adds "% of the f16 matrix peak" to the GEMM rows; R1VK_GPU_CHECK_BUDGET=S
# (seconds, default 450) skips the remaining model benchmarks once that much time has passed;
# R1VK_GPU_CHECK_TESTS=0 skips the tests (a benchmark-only smoke run on a slow device).
set -uo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
bundle=${TMPDIR:-/tmp}/r1vk-gpu-bundle
out=${1:-${OUT:-$root/gpu-check-out}}
quick=${R1VK_GPU_CHECK_QUICK:-0}
budget=${R1VK_GPU_CHECK_BUDGET:-450}
mkdir -p "$out"
summary=$out/summary.md
start=$(date +%s)
elapsed() { echo $(($(date +%s) - start)); }
log() { echo "[gpu-check $(elapsed)s] $*" | tee -a "$out/progress.log"; }

archive=$root/gpu-bundle/bundle.tar.xz
[ -f "$archive" ] || { echo "gpu-check: $archive missing: run scripts/gpu-bundle.sh on the build machine" >&2; exit 1; }
rm -rf "$bundle" && mkdir -p "$bundle" && tar -C "$bundle" --strip-components=1 -xJf "$archive" || exit 1
export LD_LIBRARY_PATH=$bundle/lib${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
export VK_ADD_LAYER_PATH=$bundle/layers VK_LAYER_PATH=$bundle/layers
export R1VK_CACHE_DIR=$out/cache XDG_CACHE_HOME=$out/cache
r1vk=$bundle/bin/r1vk

# A driver the loader does not find by itself (containers often mount NVIDIA's elsewhere).
if ! "$r1vk" devices >/dev/null 2>&1; then
  for f in /usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json /usr/share/vulkan/icd.d/nvidia_icd.json \
           /etc/vulkan/icd.d/nvidia_icd.json; do
    if [ -f "$f" ]; then export VK_DRIVER_FILES=$f VK_ICD_FILENAMES=$f; break; fi
  done
fi
if ! "$r1vk" devices >"$out/devices.txt" 2>&1; then
  cat "$out/devices.txt"; echo "gpu-check: no usable Vulkan device" >&2; exit 1
fi
"$r1vk" devices --json >"$out/devices.json" 2>/dev/null || true
device=$(awk '/^\*/ {sub(/^\* *\[[0-9]+\] */, ""); print; exit}' "$out/devices.txt")
[ -n "$device" ] || device=$(head -1 "$out/devices.txt")
log "device: $device"

{
  echo "# r1vk GPU check"
  echo
  echo "- commit: $(cat "$bundle/COMMIT" 2>/dev/null || echo unknown), $(date -u '+%Y-%m-%d %H:%M UTC')"
  echo "- device: $device"
  echo "- quick: $quick"
  echo
} >"$summary"

# 1. Kernel and end-to-end logit tests on the device, validation on.
echo "## Tests (validation layer on)" >>"$summary"
echo >>"$summary"
echo "| test | result | seconds |" >>"$summary"
echo "|---|---|---|" >>"$summary"
failed_tests=0
# offload_tests: only the expert cache's cases, whose swap copies run on the GPU's separate
# transfer queue (vulkan_tests checks that queue's ordering; its log names the queue used).
tests=(vulkan_tests attention_kernel_tests linear_kernel_tests exec_tests offload_tests)
[ "${R1VK_GPU_CHECK_TESTS:-1}" = 0 ] && tests=()
for t in "${tests[@]}"; do
  t0=$(date +%s)
  args=()
  [ "$t" = offload_tests ] && args=("--test-case=*expert cache*")
  R1VK_VALIDATION=1 R1VK_TEST_DATA=$root/tests/data R1VK_SOURCE_DIR=$root \
    timeout 240 "$bundle/bin/$t" "${args[@]}" >"$out/test_$t.log" 2>&1
  rc=$?
  result=passed
  [ $rc -eq 0 ] || { result="FAILED (exit $rc)"; failed_tests=$((failed_tests + 1)); }
  echo "| $t | $result | $(($(date +%s) - t0)) |" >>"$summary"
  log "$t: $result"
done
echo >>"$summary"
queue=$(grep -o "swap copies go to .*" "$out/test_vulkan_tests.log" 2>/dev/null | head -1)
[ -n "$queue" ] && { echo "- expert cache $queue" >>"$summary"; echo >>"$summary"; log "expert cache $queue"; }

# 2. Kernels: copy bandwidth, GEMV per format at 4096x14336, GEMM, MLA decode attention, sampling.
rows=4096 cols=14336 gemm_tokens=512 gemm_rows=4096 gemm_cols=4096 ctx=4096 iters=20
if [ "$quick" = 1 ]; then rows=256 cols=512 gemm_tokens=16 gemm_rows=256 gemm_cols=256 ctx=256 iters=3; fi
kernels=$out/kernels.log
: >"$kernels"
"$r1vk" bench-kernels --op gemv --rows $rows --cols $cols --iters $iters >>"$kernels" 2>&1
copy_gbps=$(awk '/^copy kernel/ {for (i = 1; i <= NF; ++i) if ($i == "GB/s") {print $(i - 1); exit}}' "$kernels")
log "copy bandwidth: ${copy_gbps:-?} GB/s"
for f in f16 q8 q4 fp8; do
  "$r1vk" bench-kernels --op linear --format $f --rows $rows --cols $cols --tokens 1 --iters $iters >>"$kernels" 2>&1
done
for f in f16 q4; do
  "$r1vk" bench-kernels --op linear --format $f --rows $gemm_rows --cols $gemm_cols --tokens $gemm_tokens --iters 5 \
    >>"$kernels" 2>&1
done
"$r1vk" bench-kernels --op mla --context $ctx --iters $iters >>"$kernels" 2>&1
"$r1vk" bench-kernels --op sample --iters $iters >>"$kernels" 2>&1
{
  echo "## Kernels (median of timestamp queries)"
  echo
  echo "copy kernel: ${copy_gbps:-?} GB/s (read + write): the bandwidth the % columns are relative to"
  echo
  echo "| kernel | ms/call | GB/s | % of copy | GFLOP/s | % of f16 peak |"
  echo "|---|---|---|---|---|---|"
  awk -v peak="${R1VK_PEAK_TFLOPS:-0}" '
    function field(name,   i, v) {
      for (i = 2; i <= NF; ++i) { v = $i; gsub(/[,;]$/, "", v); if (v == name) { v = $(i - 1); gsub(/[%,]/, "", v); return v } }
      return ""
    }
    /^linear / {
      gf = field("GFLOP/s"); ofpeak = (peak > 0 && gf != "") ? sprintf("%.1f", gf / (peak * 10)) : ""
      printf "| linear %s %s, %s tokens | %s | %s | %s | %s | %s |\n", $2, $3, $5, field("ms/call"), field("GB/s"), field("of"), gf, ofpeak
    }
    /^gemv_f16/ { printf "| %s %s | %s | %s | %s | | |\n", $1, $2, field("ms/call"), field("GB/s"), field("of") }
    /^mla decode attention:/ { label = $0; sub(/^mla decode attention: /, "", label); sub(/ \(.*$/, "", label) }
    /ms\/call.*cache/ { printf "| MLA decode attention, %s | %s | %s | %s | %s | |\n", label, $1, field("GB/s"), field("of"), field("GFLOP/s") }
    /^sample vocab/ { mode = $0; sub(/^sample vocab [0-9]+, /, "", mode); sub(/ +[0-9.]+ ms\/token.*$/, "", mode)
                      printf "| sample (vocab %s), %s | %s | | | | |\n", $3, mode, field("ms/token") }
  ' "$kernels"
  echo
} >>"$summary"

# 3. Whole models: the demo model and synthetic checkpoints of real shapes (a few layers each;
# the roofline fraction is per token, so fewer layers keep the fraction meaningful).
echo "## Models (r1vk bench: prefill 512 tokens, decode at context 0 and 4096)" >>"$summary"
echo >>"$summary"
echo "| model | weights | prefill tok/s | decode tok/s (ctx 0) | decode tok/s (ctx 4096) | MiB/token | % of roofline |" >>"$summary"
echo "|---|---|---|---|---|---|---|"  >>"$summary"
models=$out/models
mkdir -p "$models"
bench_model() {  # name weights model_path [extra args]
  local name=$1 weights=$2 path=$3; shift 3
  if [ "$(elapsed)" -ge "$budget" ]; then log "skipped $name ($weights): time budget spent"; echo "| $name | $weights | skipped (time budget) | | | | |" >>"$summary"; return; fi
  local logf=$out/bench_${name}_$weights.log
  local prompt=512 long=4096
  [ "$quick" = 1 ] && { prompt=32; long=64; }
  timeout 300 "$r1vk" bench "$path" --weights "$weights" --prompt $prompt --decode 16 --long-context $long \
    ${copy_gbps:+--bandwidth $copy_gbps} "$@" >"$logf" 2>&1
  local rc=$?
  awk -v name="$name" -v w="$weights" -v rc=$rc '
    /^prefill:/ { for (i = 1; i <= NF; ++i) if ($i == "tokens/s") p = $(i - 1) }
    /^decode at context 0:/ { d0 = $5 }
    /^decode at context [1-9]/ { dl = $5 }
    /^decode reads/ { mib = $3 }
    /^roofline at/ { for (i = 1; i <= NF; ++i) if ($i == "reaches") { r = $(i + 1); gsub(/%/, "", r) } }
    END { if (rc != 0) p = "FAILED (exit " rc ")"; printf "| %s | %s | %s | %s | %s | %s | %s |\n", name, w, p, d0, dl, mib, r }
  ' "$logf" >>"$summary"
  log "bench $name $weights: exit $rc"
}
gen() {  # name preset [gen-checkpoint args]
  local name=$1 preset=$2; shift 2
  [ -d "$models/$name" ] || timeout 240 "$r1vk" gen-checkpoint --preset "$preset" --out "$models/$name" "$@" \
    >"$out/gen_$name.log" 2>&1 || log "gen-checkpoint $name failed (see gen_$name.log)"
}
bench_model demo f16 "$root/models/r1vk-demo"
bench_model demo q4 "$root/models/r1vk-demo"
if [ "$quick" = 1 ]; then
  gen llama tiny-llama3; bench_model llama-tiny q4 "$models/llama"
  gen v2lite tiny-v2-lite; bench_model v2-lite-tiny q4 "$models/v2lite"
  gen r1 tiny-r1 --fp8; bench_model r1-tiny fp8 "$models/r1"
else
  # 8B Llama shape (hidden 4096, 32 heads / 8 KV heads, intermediate 14336, vocab 128256), 4 layers.
  gen llama8b distill-llama-8b --layers 4; bench_model llama8b-4L q4 "$models/llama8b"; bench_model llama8b-4L f16 "$models/llama8b"
  # V2-Lite shape (hidden 2048, 64 routed experts top-6 + 2 shared, MLA 512+64), 4 layers.
  gen v2lite v2-lite --layers 4; bench_model v2-lite-4L q4 "$models/v2lite"; bench_model v2-lite-4L f16 "$models/v2lite"
  # R1 shape (hidden 7168, 128 heads, MLA 512+64, FP8 128x128 blocks), 3 dense + 1 MoE layer with
  # 32 of the 256 routed experts (per-token expert reads are those of the full model: top-8 of them).
  gen r1 r1 --layers 4 --experts 32 --fp8; bench_model r1-4L fp8 "$models/r1"; bench_model r1-4L q4 "$models/r1"
fi
echo >>"$summary"
echo "MiB/token: weights one decode token reads (routed experts: top-k of n); % of roofline = decode tok/s at context 0 x MiB/token / copy bandwidth." >>"$summary"
# MTP on the demo model (issue 15's target: tokens/s with drafts >= 1.5x without), from the demo
# benches above (their default --mtp-decode run: greedy, 1 draft, the chat prompts).
{
  echo
  echo "## MTP on the demo model (r1vk bench's --mtp-decode run)"
  echo
  for w in f16 q4; do
    grep -h -e '^MTP speculative' -e 'a step takes' "$out/bench_demo_$w.log" 2>/dev/null | sed "s/^ */- $w: /"
  done
} >>"$summary"
rm -rf "$models" "$out/cache"
log "done in $(elapsed) s; $failed_tests test executable(s) failed"
cat "$summary"
[ $failed_tests -eq 0 ]
