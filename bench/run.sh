#!/usr/bin/env bash
# The performance table in one command (see bench/run.py --help): builds nothing, uses build/release.
#   bench/run.sh            full run (about 15 minutes on a 2-core box)
#   bench/run.sh --quick    every row with tiny N (CI smoke)
set -euo pipefail
exec /usr/bin/python3 "$(dirname "$0")/run.py" "$@"
