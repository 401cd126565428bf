#!/usr/bin/env bash
# Installs everything (scripts/setup.sh), builds, and runs streamgate with a demo stream: an exec source in which
# ffmpeg publishes a test pattern (H.264 + AAC) to rtsp://127.0.0.1:8554/demo.
# Watch it: http://localhost:8080/ (player pages), or `ffplay rtsp://localhost:8554/demo`. Ctrl-C stops.
set -euo pipefail
cd "$(dirname "$0")/.."
scripts/setup.sh
exec build/release/streamgate --config scripts/demo.yaml "$@"
