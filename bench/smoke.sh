#!/usr/bin/env bash
# A few seconds of every benchmark tool, so they never rot: the fan-out micro-benchmark, then every row of the
# performance table with tiny N (bench/run.sh --quick). Asserts only that the tools run, not timings.
set -euo pipefail
cd "$(dirname "$0")/.."
b=build/release
"$b/bench/bench_fanout" --benchmark_min_time=0.01 --benchmark_filter='BM_FanOut/(1|100)/' >/dev/null
bench/run.sh --quick --build "$b"
