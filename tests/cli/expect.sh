# Shared by the CLI test scripts (sourced): a scratch directory removed on exit, and
# expect_exit CODE PATTERN COMMAND... which runs COMMAND and fails the test unless it exits with
# CODE and its combined output matches the extended regex PATTERN.
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
expect_exit() {
  local code=$1 pattern=$2; shift 2
  local out; out=$("$@" 2>&1); local got=$?
  [ "$got" -eq "$code" ] || fail "exit $got (want $code): $* -> $out"
  grep -qE -- "$pattern" <<<"$out" || fail "no '$pattern' in: $* -> $out"
}
