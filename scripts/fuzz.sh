#!/usr/bin/env bash
# Builds every libFuzzer target (fuzz/<parser>.cpp, clang preset `fuzz`) and runs each for a few seconds over its
# seed corpus (fuzz/corpus/<parser>/, copied to a scratch dir so runs never write into the repo). A libFuzzer run
# is one thread: one target runs per core at a time, each for its full time.
# Usage: scripts/fuzz.sh [SECONDS_PER_TARGET]   A crash fails the script and leaves the input in build/fuzz/crashes/.
set -euo pipefail
cd "$(dirname "$0")/.."
seconds=${1:-10}
parallel=$(nproc)
cmake --preset fuzz >/dev/null
cmake --build --preset fuzz -j "$parallel"
mkdir -p build/fuzz/crashes

# One target: its log in build/fuzz/<name>.log, its exit status in build/fuzz/<name>.status.
run_target() {
  local name=$1 work
  work=$(mktemp -d)
  [ -d "fuzz/corpus/$name" ] && cp -r "fuzz/corpus/$name/." "$work/"
  local rc=0
  build/fuzz/fuzz/fuzz_"$name" -max_total_time="$seconds" -rss_limit_mb=2048 -timeout=10 -print_final_stats=0 \
    -artifact_prefix=build/fuzz/crashes/"$name"- "$work" >build/fuzz/"$name".log 2>&1 || rc=$?
  echo "$rc" >build/fuzz/"$name".status
  rm -rf "$work"
}

names=()
for src in fuzz/*.cpp; do
  name=$(basename "$src" .cpp)
  names+=("$name")
  rm -f build/fuzz/"$name".status
  while [ "$(jobs -rp | wc -l)" -ge "$parallel" ]; do wait -n || true; done
  run_target "$name" &
done
wait

status=0
for name in "${names[@]}"; do
  echo "fuzz_$name: ${seconds}s"
  if [ "$(cat build/fuzz/"$name".status 2>/dev/null || echo missing)" != 0 ]; then
    echo "fuzz_$name FAILED:"; tail -40 build/fuzz/"$name".log; status=1
  else
    grep -E "^#[0-9]+.*DONE" build/fuzz/"$name".log | tail -1 || true
  fi
done
exit $status
