#!/usr/bin/env bash
# Builds every libFuzzer target (fuzz/<parser>.cpp, clang preset `fuzz`) and runs each for a few seconds over its
# seed corpus (fuzz/corpus/<parser>/, copied to a scratch dir so runs never write into the repo).
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]   A crash fails the script and leaves the input in build/fuzz/crashes/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$(nproc)"
mkdir -p build/fuzz/crashes
status=0
for src in fuzz/*.cpp; do
  name=$(basename "$src" .cpp)
  bin=build/fuzz/fuzz/fuzz_$name
  work=$(mktemp -d)
  [ -d "fuzz/corpus/$name" ] && cp -r "fuzz/corpus/$name/." "$work/"
  echo "fuzz_$name: ${seconds}s"
  if ! "$bin" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=0 \
      -artifact_prefix=build/fuzz/crashes/"$name"- "$work" >build/fuzz/"$name".log 2>&1; then
    echo "fuzz_$name FAILED:"; tail -40 build/fuzz/"$name".log; status=1
  else
    grep -E "^#[0-9]+.*DONE" build/fuzz/"$name".log | tail -1 || true
  fi
  rm -rf "$work"
done
exit $status
