#!/usr/bin/env bash
# Builds the libFuzzer targets (tests/fuzz, clang + ASan + UBSan, in build-fuzz/ or
# $R1VK_FUZZ_BUILD_DIR) and runs each for SECONDS (default 60), starting from its seed corpus and
# past findings. New interesting inputs go to build-fuzz/fuzz-corpus/<target>/ (never into the
# source tree); a crash, leak, UB report or hang is written to build-fuzz/fuzz-artifacts/<target>/
# and makes this script fail. Then: fix it, and copy the input into tests/fuzz/regressions/<target>/
# so every build replays it (CTest fuzz_<target>_replay).
#
#   scripts/fuzz.sh [SECONDS] [TARGET...]     targets: safetensors checkpoint config tokenizer
#                                             tokenizer_encode chat plan gguf http_request
#                                             http_framing expert_counts (default: all)
# Prints one summary line per target: executions, exec/s, coverage (cov: edges, ft: features) and
# the size of its kept corpus. R1VK_FUZZ_RUNS=N also stops each target after N executions
# (the long run: R1VK_FUZZ_RUNS=10000000 scripts/fuzz.sh 3600).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
seconds=${1:-60}
shift || true
all_targets=(safetensors checkpoint config tokenizer tokenizer_encode chat plan gguf http_request http_framing expert_counts)
targets=("$@")
[ ${#targets[@]} -eq 0 ] && targets=("${all_targets[@]}")

"$root/scripts/install-deps.sh"
build=${R1VK_FUZZ_BUILD_DIR:-$root/build-fuzz}
cmake -S "$root" -B "$build" -G Ninja -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_C_COMPILER=clang \
  -DCMAKE_CXX_COMPILER=clang++ -DR1VK_FUZZ=ON -DR1VK_WERROR=ON >/dev/null
cmake --build "$build" --parallel "$(nproc)" --target r1vk_fuzz_targets

# Leak checking stays on (a leak is a finding); a report of UB aborts (-fno-sanitize-recover).
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
failed=()
summary=()
for t in "${targets[@]}"; do
  corpus=$build/fuzz-corpus/$t
  artifacts=$build/fuzz-artifacts/$t
  log=$build/fuzz-logs/$t.log
  mkdir -p "$corpus" "$artifacts" "$(dirname "$log")"
  inputs=("$corpus" "$root/tests/fuzz/corpus/$t")
  [ -d "$root/tests/fuzz/regressions/$t" ] && inputs+=("$root/tests/fuzz/regressions/$t")
  dict=()
  [ -f "$root/tests/fuzz/dict/$t.dict" ] && dict=("-dict=$root/tests/fuzz/dict/$t.dict")
  runs=()
  [ -n "${R1VK_FUZZ_RUNS:-}" ] && runs=("-runs=$R1VK_FUZZ_RUNS")
  echo "fuzz: $t for ${seconds}s${R1VK_FUZZ_RUNS:+ or $R1VK_FUZZ_RUNS executions}"
  rc=0
  "$build/tests/fuzz/fuzz_$t" -max_total_time="$seconds" "${runs[@]}" -timeout=30 -rss_limit_mb=2048 \
    -print_final_stats=1 -artifact_prefix="$artifacts/" "${dict[@]}" "${inputs[@]}" >"$log" 2>&1 || rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log" | tail -1)
  rate=$(sed -n 's/^stat::average_exec_per_sec: *//p' "$log" | tail -1)
  cov=$(grep -o 'cov: [0-9]* ft: [0-9]*' "$log" | tail -1 || true)
  kept="$(find "$corpus" -type f | wc -l) inputs, $(du -sk "$corpus" | cut -f1) KiB"
  line="$t: ${execs:-?} executions, ${rate:-?} exec/s, ${cov:-no coverage line}, corpus $kept"
  if [ "$rc" -ne 0 ]; then
    line+=" -- FAILED (exit $rc), see $log and $artifacts/"
    failed+=("$t")
    tail -40 "$log" >&2
  fi
  summary+=("$line")
done
printf '%s\n' "${summary[@]}"
if [ ${#failed[@]} -ne 0 ]; then
  echo "fuzz: findings in ${failed[*]}" >&2
  exit 1
fi
