#!/usr/bin/env bash
# Prints the output of the tests that failed in the last ctest run of a build directory, once more, at the end of
# the log: with -j the inline output of a failure sits among a thousand other lines, and a CI report that keeps only
# the tail would otherwise show just the names. Usage: scripts/print_failed_tests.sh BUILD_DIR [LINES]
# (LINES: the last lines of each test's output, 150 unless given; each gtest failure's first lines come before.)
set -uo pipefail
dir=$1
lines=${2:-150}
failed=$dir/Testing/Temporary/LastTestsFailed.log
log=$dir/Testing/Temporary/LastTest.log
[ -f "$failed" ] && [ -f "$log" ] || exit 0
while IFS= read -r entry; do
  name=${entry#*:}
  block=$(awk -v name="$name" '
    $0 ~ /^[0-9]+\/[0-9]+ Testing: / { inblock = (substr($0, index($0, "Testing: ") + 9) == name); next }
    inblock && $0 == "Output:" { out = 1; skip = 1; next }
    out && skip { skip = 0; if ($0 ~ /^-+$/) next }
    out && $0 == "<end of output>" { out = 0; inblock = 0; next }
    out { print }
  ' "$log")
  echo
  echo "=== the failed test $name: each gtest failure (its first 15 lines; at most 5)"
  # An assertion's message may carry a whole server log: the failure's own lines come first.
  awk '/: Failure$/ { if (++n > 5) exit; left = 15 } left > 0 { print; left-- }' <<<"$block"
  echo "=== the failed test $name: the last $lines lines of its output"
  tail -n "$lines" <<<"$block"
done <"$failed"
