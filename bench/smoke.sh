#!/usr/bin/env bash
# A few seconds of every benchmark tool, so they never rot. Asserts only that the tools run, not timings.
set -euo pipefail
cd "$(dirname "$0")/.."
b=build/release
"$b/bench/bench_fanout" --benchmark_min_time=0.01 --benchmark_filter='BM_FanOut/(1|100)/' >/dev/null
bench/startup.py --binary "$b/streamgate" --runs 2 --idle 0.5 --rss-runs 1
