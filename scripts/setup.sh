#!/usr/bin/env bash
# Installs everything the build, the tests and the demo need (Debian 12), then builds the release preset.
# Idempotent and non-interactive. Usage: scripts/setup.sh [--no-build]
set -euo pipefail
cd "$(dirname "$0")/.."

SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
export DEBIAN_FRONTEND=noninteractive

packages=(
  # toolchain
  build-essential cmake ninja-build pkg-config git clang libclang-rt-14-dev
  # libraries
  libboost1.81-all-dev libssl-dev libsrtp2-dev libsrt-openssl-dev libyaml-cpp-dev libspdlog-dev libfmt-dev
  libgtest-dev libgmock-dev libbenchmark-dev libavcodec-dev libavutil-dev libswresample-dev libopus-dev libhiredis-dev
  libgcrypt20-dev liburing-dev
  # real peers used by the tests and the demo
  ffmpeg wrk chromium libnss3-tools curl procps python3 python3-gi python3-gst-1.0 gir1.2-gst-rtsp-server-1.0
  gstreamer1.0-tools gstreamer1.0-plugins-good gstreamer1.0-plugins-bad gstreamer1.0-plugins-ugly gstreamer1.0-libav
  gstreamer1.0-rtsp gir1.2-gst-plugins-bad-1.0 gstreamer1.0-nice  # rtspclientsink; webrtcbin (and its ICE) from Python
  redis-server  # tests/e2e/test_cluster.cpp: the cluster's Redis
  golang-go golang-github-pion-webrtc.v3-dev  # tests/peers/pion_whep: a pion WHEP server (answers setup:active)
  # packaging checks (scripts/package_test.sh): .deb, lintian, a minbase root, the container image, systemd unit
  file dpkg-dev debootstrap lintian buildah podman systemd
)
# Node.js + npm for the browser tests: a machine may already have them (from another source whose nodejs
# conflicts with Debian's npm); install Debian's only when there is none.
if ! command -v npm >/dev/null 2>&1; then packages+=(nodejs npm); fi

missing=()
for p in "${packages[@]}"; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if [ ${#missing[@]} -gt 0 ]; then
  echo "setup: installing ${#missing[@]} packages: ${missing[*]}"
  $SUDO apt-get update -q
  $SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
else
  echo "setup: all ${#packages[@]} packages present"
fi

# playwright-core drives Debian's chromium in the browser tests (never downloads a browser).
if [ -f tests/e2e/package.json ] && [ ! -d tests/e2e/node_modules/playwright-core ]; then
  echo "setup: npm install in tests/e2e"
  (cd tests/e2e && npm install --no-audit --no-fund --loglevel=error)
fi

# Kubernetes manifest checks (tests/deploy/check_k8s.mjs): YAML and the Kubernetes schemas from npm.
if [ -f tests/deploy/package.json ] && [ ! -d tests/deploy/node_modules/kubernetes-models ]; then
  echo "setup: npm install in tests/deploy"
  (cd tests/deploy && npm install --no-audit --no-fund --loglevel=error)
fi

# --- HLS player assets (hlsserve): hls.js from npm into web/node_modules; streamgate serves it at /assets/hls.min.js.
if [ -f web/package.json ] && [ ! -f web/node_modules/hls.js/dist/hls.min.js ]; then
  echo "setup: npm install in web"
  (cd web && npm install --no-audit --no-fund --loglevel=error)
fi
# --- end HLS player assets

if [ "${1:-}" != "--no-build" ]; then
  # The server alone (what the demo runs): the tests and load tools are built by scripts/test.sh.
  echo "setup: building streamgate (release preset)"
  cmake --preset release >/dev/null
  cmake --build --preset release --target streamgate
fi
