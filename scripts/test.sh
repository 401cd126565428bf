#!/usr/bin/env bash
# The whole test suite, as CI runs it: setup (idempotent), release build + all tests (unit and end-to-end with
# real ffmpeg / GStreamer / Chromium), the packaging checks once (scripts/package_test.sh), the same tests under
# ASan+UBSan, every libFuzzer target briefly, and a smoke run of the benchmarks. Usage: scripts/test.sh [--quick]   (--quick: release build and tests only)
set -euo pipefail
cd "$(dirname "$0")/.."
jobs=$(nproc)
step() { echo; echo "=== $* ($(date +%H:%M:%S))"; }

step "setup"
scripts/setup.sh --no-build

# The packaging checks' slow groundwork is mostly network and disk (debootstrap of the minbase root, the image's
# toolchain packages): it runs in the background while the release build compiles.
prepare_pid=""
if [ "${1:-}" != "--quick" ]; then
  mkdir -p build
  # Its own process group, so that a failing step ends it with everything it started.
  setsid scripts/package_test.sh prepare >build/package_prepare.log 2>&1 &
  prepare_pid=$!
  trap 'kill -TERM -- "-$prepare_pid" 2>/dev/null || true' EXIT
  echo "packaging groundwork started in the background (log: build/package_prepare.log)"
fi

step "release build"
cmake --preset release >/dev/null
cmake --build --preset release -j "$jobs"

step "release tests"
# A failure's output is printed inline among the others' and once more at the end (scripts/print_failed_tests.sh).
ctest --preset release -j "$jobs" --timeout 300 || { rc=$?; scripts/print_failed_tests.sh build/release; exit $rc; }

if [ "${1:-}" = "--quick" ]; then exit 0; fi

step "packaging (install, .deb, Kubernetes manifests, container image)"
wait "$prepare_pid" || { cat build/package_prepare.log; echo "packaging groundwork failed"; exit 1; }
trap - EXIT
tail -1 build/package_prepare.log
scripts/package_test.sh

step "asan+ubsan build"
cmake --preset asan >/dev/null
cmake --build --preset asan -j "$jobs"

step "asan+ubsan tests"
# Unit and API tests (protocol parsers, media core, config, HTTP API over real sockets, STUN/DTLS/SRTP) under
# ASan+UBSan. The end-to-end tests (real ffmpeg/GStreamer/Chromium) run against the release build above.
export ASAN_OPTIONS=detect_leaks=0:abort_on_error=1:detect_stack_use_after_return=0
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
ctest --preset asan -j "$jobs" --timeout 600 -LE "no_asan|e2e" || { rc=$?; scripts/print_failed_tests.sh build/asan; exit $rc; }

step "fuzz targets (short run each)"
scripts/fuzz.sh "${SG_FUZZ_SECONDS:-10}"

step "benchmark smoke"
bench/smoke.sh

step "all tests passed"
