#!/usr/bin/env bash
# `r1vk serve` refuses mistakes in its pipeline flags before it listens: the error (exit 2, naming
# the flag) comes without a "listening" line, so a supervisor never sees a server that looked up
# and then died after its model load. (Before, --split with the wrong count was found only when
# the stages were opened, after the server had printed "listening".)
# Usage: serve_pipeline_flags.sh path/to/r1vk [path/to/mpirun]
set -uo pipefail
r1vk=$1
mpirun=${2:-}
source "$(dirname "$0")/expect.sh"

# expect_exit, and nothing listened: no "listening" in the output.
refused() {
  local pattern=$1; shift
  local out; out=$(timeout 120 "$@" 2>&1); local got=$?
  [ "$got" -eq 2 ] || fail "exit $got (want 2): $* -> $out"
  grep -qE -- "$pattern" <<<"$out" || fail "no '$pattern' in: $* -> $out"
  grep -q 'listening' <<<"$out" && fail "listened before refusing its flags: $* -> $out"
  return 0
}

serve=("$r1vk" serve --host 127.0.0.1 --port 0)
refused '3 ratios for 2 devices' "${serve[@]}" --devices 0,0 --split 1,2,3
refused 'at least two devices' "${serve[@]}" --devices 0
refused "'x' is not a device index" "${serve[@]}" --devices 0,x
refused 'is not a device index' "${serve[@]}" --devices 0,70000
refused "'1x' is not a ratio" "${serve[@]}" --devices 0,0 --split 1,1x
refused 'ratios must be positive' "${serve[@]}" --devices 0,0 --split 1,0
refused 'exclude each other' "${serve[@]}" --devices 0,0 --device 0
refused 'exclude each other' "${serve[@]}" --devices 0,0 --pipeline
refused '--micro-batches: needs --devices or --pipeline' "${serve[@]}" --micro-batches 2
if [ -n "$mpirun" ]; then
  export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
  # Every rank checks the same flags; the job ends non-zero (MPI_Abort after the message).
  out=$(timeout 120 "$mpirun" --oversubscribe --bind-to none -np 2 "${serve[@]}" --pipeline --split 1,2,3 2>&1) \
    && fail "mpirun -np 2 serve --pipeline --split 1,2,3 succeeded: $out"
  grep -q '3 ratios for 2 ranks' <<<"$out" || fail "no '3 ratios for 2 ranks' in: $out"
  grep -q 'listening' <<<"$out" && fail "listened before refusing its flags (MPI): $out"
fi
echo "serve pipeline flags: ok"
