#!/usr/bin/env bash
# Packaging checks, run once per CI run by scripts/test.sh after the release tests (reusing build/release):
#   1. install:  `cmake --install` layout; the shipped config is valid and documents every key; the installed
#                binary, run from / with the source tree hidden (a tmpfs over it), serves /, /{stream},
#                /{stream}/hls and hls.js byte for byte as in web/, and Chromium plays a published stream over
#                WebRTC and HLS.
#   2. deb:      `cpack -G DEB` -> streamgate_<version>_amd64.deb; computed Depends; lintian without errors;
#                installed with apt into a fresh `debootstrap --variant=minbase bookworm` root (cached under
#                build/cache) it keeps its config as a conffile, and the installed binary starts there as an
#                unprivileged user and answers /healthz; the systemd unit passes `systemd-analyze verify`.
#   3. k8s:      tests/deploy/check_k8s.mjs renders deploy/kubernetes and checks it (schemas + mechanical checks);
#                the ConfigMap passes --check-config; the probe paths answer 200 on a server run with it, and
#                SIGTERM turns /readyz to 503 while /healthz stays 200 (the ConfigMap's shutdown_grace).
#   4. image:    buildah builds the Dockerfile (FROM debian:bookworm / bookworm-slim made locally from the cached
#                minbase tree; after the deb section its run stage installs that .deb instead of compiling the
#                server again, and the toolchain stage must configure the project); the image's metadata (user,
#                ports, healthcheck, stop signal); its filesystem runs the server as the image's user (chroot) and
#                Chromium plays a stream published into it.
#   prepare:     only the slow, mostly I/O-bound groundwork of deb and image, no checks: the minbase tree, the
#                base images made from it, and the image's toolchain stage (apt downloads, no compile).
#                scripts/test.sh runs it in the background while it compiles; deb and image do it themselves
#                when it has not run.
# Usage: scripts/package_test.sh [prepare|install|deb|k8s|image ...]   (default: install deb k8s image). Needs
# root (chroot, mounts). Each section prints its wall time.
set -euo pipefail
cd "$(dirname "$0")/.."
ROOT=$PWD
BUILD=$ROOT/build/release
CACHE=$ROOT/build/cache
MINBASE=$CACHE/bookworm-minbase
VERSION=$(sed -n 's/^project(streamgate VERSION \([0-9.]*\).*/\1/p' CMakeLists.txt)
IMAGE=streamgate/streamgate:$VERSION
SECTIONS=("${@:-install deb k8s image}")
SECTIONS=(${SECTIONS[*]})
T=$(mktemp -d /tmp/sg_package.XXXXXX)
PIDS=()
MOUNTS=()
pass=0
fail=0

cleanup() {
  for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null || true; done
  for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null || true; done
  for ((i = ${#MOUNTS[@]} - 1; i >= 0; i--)); do umount -l "${MOUNTS[i]}" 2>/dev/null || true; done
  rm -rf "$T"
}
trap cleanup EXIT

step() { echo; echo "=== package: $* ($(date +%H:%M:%S))"; }
ok() { echo "ok: $*"; pass=$((pass + 1)); }
bad() { echo "FAIL: $*"; fail=$((fail + 1)); }
check() {
  local what=$1
  shift
  if "$@"; then ok "$what"; else bad "$what"; fi
}
want() { [[ " ${SECTIONS[*]} " == *" $1 "* ]]; }
free_port() {  # $1: tcp | udp
  python3 -c "import socket,sys; s=socket.socket(type=socket.SOCK_DGRAM if sys.argv[1]=='udp' else socket.SOCK_STREAM); s.bind(('127.0.0.1',0)); print(s.getsockname()[1])" "$1"
}
wait_http() {  # $1: URL; up to 10 s
  for _ in $(seq 100); do
    curl -fsS -o /dev/null --max-time 1 "$1" 2>/dev/null && return 0
    sleep 0.1
  done
  return 1
}
stop_pid() { kill -TERM "$1" 2>/dev/null || true; wait "$1" 2>/dev/null || true; }
same_as() { curl -fsS --max-time 5 "$1" | cmp -s - "$2"; }
mirror() {  # the Debian mirror this machine's apt uses
  { sed -n 's/^URIs: *//p' /etc/apt/sources.list.d/*.sources 2>/dev/null
    awk '$1 == "deb" && $3 == "bookworm" {print $2}' /etc/apt/sources.list 2>/dev/null; } | head -1
}
minbase() {  # a bookworm minbase tree, made once and cached under build/ (the .deb's root and the image bases)
  if [ ! -d "$MINBASE" ]; then
    echo "debootstrap --variant=minbase bookworm (cached in $MINBASE)"
    mkdir -p "$CACHE"
    rm -rf "$MINBASE.tmp"
    debootstrap --variant=minbase bookworm "$MINBASE.tmp" "$(mirror)" >"$CACHE/debootstrap.log" 2>&1 ||
      { tail -20 "$CACHE/debootstrap.log"; return 1; }
    mv "$MINBASE.tmp" "$MINBASE"
  fi
}
# No registry here: the Dockerfile's bases are imported from the minbase tree under the names it uses, made like
# Debian's official images: no apt lists or caches, and -slim without documentation, manuals and translations
# (files left out, and a dpkg config that keeps packages installed later from adding them), so the image size
# measured here is the one a user building on the real bookworm-slim gets.
BASE_LABEL=streamgate.base=minbase-1
base_images() {
  minbase
  local have
  have=$(podman image inspect --format '{{index .Labels "streamgate.base"}}' docker.io/library/debian:bookworm-slim \
    2>/dev/null || true)
  [ "$have" = "${BASE_LABEL#*=}" ] && return 0
  local extra=$T/slim_extra
  mkdir -p "$extra/etc/dpkg/dpkg.cfg.d"
  chmod 755 "$extra" "$extra/etc" "$extra/etc/dpkg" "$extra/etc/dpkg/dpkg.cfg.d"
  cat >"$extra/etc/dpkg/dpkg.cfg.d/slim" <<'EOF2'
# Like debian:*-slim: no documentation (but the copyright files), manuals or translations.
path-exclude /usr/share/doc/*
path-include /usr/share/doc/*/copyright
path-exclude /usr/share/man/*
path-exclude /usr/share/info/*
path-exclude /usr/share/groff/*
path-exclude /usr/share/lintian/*
path-exclude /usr/share/locale/*
EOF2
  local lean=(--exclude='./var/lib/apt/lists/*' --exclude='./var/cache/apt/*.bin'
    --exclude='./var/cache/apt/archives/*.deb' --exclude='./var/cache/debconf/*-old' --exclude='./var/log/*')
  tar -C "$MINBASE" -c "${lean[@]}" . |
    podman import --change "LABEL $BASE_LABEL" - docker.io/library/debian:bookworm >/dev/null
  (cd "$MINBASE" && find ./usr/share/doc -mindepth 2 ! -type d ! -name copyright) >"$T/slim_doc_excludes"
  tar -c -C "$MINBASE" "${lean[@]}" --exclude='./usr/share/man/*' --exclude='./usr/share/info/*' \
    --exclude='./usr/share/locale/*' --exclude='./usr/share/groff/*' --exclude='./usr/share/lintian/*' \
    -X "$T/slim_doc_excludes" . -C "$extra" ./etc/dpkg/dpkg.cfg.d/slim |
    podman import --change "LABEL $BASE_LABEL" - docker.io/library/debian:bookworm-slim >/dev/null
}
# The build stage's toolchain (apt in the image, I/O-bound), cached as a layer the full build starts from.
toolchain_layer() {
  buildah build --isolation chroot --network host --pull=never --layers --force-rm --format docker --target toolchain \
    -t streamgate/toolchain:bookworm . >"$1" 2>&1 || { tail -30 "$1"; return 1; }
}
section_start() { SECTION_T0=$SECONDS; step "$*"; }
section_end() { echo "  section $1 took $((SECONDS - SECTION_T0)) s"; }
# A chroot ready to run programs: /proc, /dev, resolv.conf.
prepare_root() {
  mount -t proc proc "$1/proc" && MOUNTS+=("$1/proc")
  mount --bind /dev "$1/dev" && MOUNTS+=("$1/dev")
  cp /etc/resolv.conf "$1/etc/resolv.conf" 2>/dev/null || true
}
# Publishes a test pattern (H.264 + AAC) to rtsp://127.0.0.1:$1/$2 until killed; waits for the stream.
publish() {
  ffmpeg -nostdin -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=640x360:rate=30 -f lavfi \
    -i sine=frequency=440:sample_rate=44100 -c:v libx264 -preset ultrafast -tune zerolatency -g 30 -b:v 1M \
    -c:a aac -b:a 64k -f rtsp -rtsp_transport tcp "rtsp://127.0.0.1:$1/$2" >"$T/ffmpeg_$2.log" 2>&1 &
  PIDS+=($!)
  for _ in $(seq 100); do
    curl -fsS --max-time 1 "http://127.0.0.1:$3/api/v1/streams/$2" 2>/dev/null | grep -q '"ready"' && return 0
    sleep 0.1
  done
  return 1
}
# Chromium plays stream $2 of the server at $1 over WebRTC (the player page) and HLS (hls.js).
plays() {
  local w h
  w=$(cd tests/e2e && timeout 60 node webrtc_play.mjs "$1" "$2" player 8 2>&1 | tail -1)
  echo "  webrtc: $w"
  h=$(cd tests/e2e && timeout 60 node hls_play.mjs "$1/$2/hls" 2>&1 | tail -1)
  echo "  hls: $h"
  [[ $w == *'"ok":true'* && $h == *'"playing":true'* ]]
}

if want prepare; then
  section_start "prepare: minbase tree, base images, the image's toolchain stage"
  base_images
  mkdir -p "$CACHE"
  toolchain_layer "$CACHE/toolchain_build.log"
  section_end prepare
  [ "${#SECTIONS[@]}" = 1 ] && exit 0
fi

cmake --build "$BUILD" --target streamgate >/dev/null

if want install; then
  section_start "install layout and the self-contained binary"
  P=$T/prefix
  cmake --install "$BUILD" --prefix "$P" >/dev/null
  check "install lays out bin/, etc/streamgate/, share/doc/" test -x "$P/bin/streamgate" -a \
    -f "$P/etc/streamgate/streamgate.yaml" -a -f "$P/share/doc/streamgate/README.md" -a \
    -f "$P/lib/systemd/system/streamgate.service"
  check "the shipped config is valid" "$P/bin/streamgate" --check-config --config "$P/etc/streamgate/streamgate.yaml"
  missing=$(python3 - "$ROOT/src/app/config.cpp" "$P/etc/streamgate/streamgate.yaml" <<'EOF'
import re, sys
src, doc = open(sys.argv[1]).read(), open(sys.argv[2]).read()
keys = set()
for m in re.finditer(r'check_keys\([^,]+,\s*[^,]+,\s*\{([^}]*)\}\)', src, re.S):
    keys.update(re.findall(r'"([a-z_]+)"', m.group(1)))
print(" ".join(sorted(k for k in keys if not re.search(r'(^|[\s{,#-])' + k + r':', doc, re.M))))
EOF
)
  check "the shipped config documents every key config.cpp accepts${missing:+ (missing: $missing)}" test -z "$missing"
  check "the binary does not name the source tree" bash -c "! strings '$P/bin/streamgate' | grep -q '$ROOT/web'"

  HTTP=$(free_port tcp) RTSP=$(free_port tcp) UDP=$(free_port udp)
  # The source tree hidden under a tmpfs, the binary started from / without SG_WEB_DIR.
  unshare -m sh -c "mount --make-rprivate / && mount -t tmpfs tmpfs '$ROOT' && cd / && exec env -u SG_WEB_DIR \
    '$P/bin/streamgate' --http 127.0.0.1:$HTTP --rtsp 127.0.0.1:$RTSP --webrtc-udp 127.0.0.1:$UDP \
    --log-format text --log-level warn" >"$T/install_server.log" 2>&1 &
  SERVER=$!
  PIDS+=($SERVER)
  check "the installed binary starts with the source tree hidden" wait_http "http://127.0.0.1:$HTTP/healthz"
  check "a stream published into it becomes ready" publish "$RTSP" cam "$HTTP"
  check "/ is the embedded stream list (web/player/streams.html)" same_as "http://127.0.0.1:$HTTP/" web/player/streams.html
  check "/cam is the embedded player (web/player/index.html)" same_as "http://127.0.0.1:$HTTP/cam" web/player/index.html
  check "/cam/hls is the embedded HLS player (web/hls.html)" same_as "http://127.0.0.1:$HTTP/cam/hls" web/hls.html
  check "hls.js is embedded (npm's hls.min.js)" same_as "http://127.0.0.1:$HTTP/assets/hls.min.js" \
    web/node_modules/hls.js/dist/hls.min.js
  check "Chromium plays the stream from the installed binary (WebRTC and HLS)" plays "http://127.0.0.1:$HTTP" cam
  stop_pid "$SERVER"
  section_end install
fi

if want deb; then
  section_start "Debian package"
  mkdir -p "$T/deb"
  (cd "$BUILD" && cpack -G DEB -B "$T/deb" >"$T/cpack.log" 2>&1) || { cat "$T/cpack.log"; false; }
  DEB=$T/deb/streamgate_${VERSION}_amd64.deb
  check "cpack makes streamgate_${VERSION}_amd64.deb" test -f "$DEB"
  depends=$(dpkg-deb -f "$DEB" Depends)
  echo "  Depends: $depends"
  echo "  Recommends: $(dpkg-deb -f "$DEB" Recommends)"
  check "Depends computed from the linked libraries (libc6, libssl3, libgcrypt20, liburing2)" \
    bash -c "[[ '$depends' == *libc6* && '$depends' == *libssl3* && '$depends' == *libgcrypt20* && '$depends' == *liburing2* ]]"
  check "config is a conffile" bash -c "dpkg-deb --ctrl-tarfile '$DEB' | tar -xO ./conffiles | grep -qx /etc/streamgate/streamgate.yaml"
  lintian --allow-root --fail-on error "$DEB" >"$T/lintian.txt" 2>&1 && lint=0 || lint=$?
  sed 's/^/  lintian: /' "$T/lintian.txt" | head -40
  check "lintian passes without errors" test "$lint" = 0
  dpkg-deb -x "$DEB" "$T/debfs"
  # The packaged unit, pointed at the packaged binary (this machine has no /usr/bin/streamgate).
  mkdir -p "$T/unit"
  sed "s|/usr/bin/streamgate|$T/debfs/usr/bin/streamgate|g" "$T/debfs/lib/systemd/system/streamgate.service" \
    >"$T/unit/streamgate.service"
  check "the systemd unit passes systemd-analyze verify" systemd-analyze verify "$T/unit/streamgate.service"
  check "the unit's systemd-analyze security exposure is at most 2.5 (of 10)" bash -c "systemd-analyze security \
    --offline=true --threshold=25 --no-pager '$T/unit/streamgate.service' >'$T/security.txt' 2>&1"
  tail -1 "$T/security.txt" | sed 's/^/  /'

  minbase
  R=$T/minbase
  cp -a "$MINBASE" "$R"
  prepare_root "$R"
  cp "$DEB" "$R/tmp/"
  chroot "$R" apt-get update -q >"$T/apt.log" 2>&1
  check "apt installs the .deb into a fresh minbase root" bash -c "chroot '$R' env DEBIAN_FRONTEND=noninteractive \
    apt-get install -y -q --no-install-recommends '/tmp/$(basename "$DEB")' >>'$T/apt.log' 2>&1 || { tail -20 '$T/apt.log'; false; }"
  check "dpkg registers the config as a conffile" bash -c \
    "chroot '$R' dpkg-query -W -f='\${Conffiles}' streamgate | grep -q /etc/streamgate/streamgate.yaml"
  check "the installed config passes --check-config" chroot "$R" /usr/bin/streamgate --check-config \
    --config /etc/streamgate/streamgate.yaml
  HTTP=$(free_port tcp) RTSP=$(free_port tcp) UDP=$(free_port udp)
  chroot --userspec=nobody:nogroup "$R" env STREAMGATE_SERVER__HTTP="127.0.0.1:$HTTP" \
    STREAMGATE_SERVER__RTSP="127.0.0.1:$RTSP" STREAMGATE_SERVER__WEBRTC_UDP="127.0.0.1:$UDP" \
    /usr/bin/streamgate --config /etc/streamgate/streamgate.yaml >"$T/deb_server.log" 2>&1 &
  SERVER=$!
  PIDS+=($SERVER)
  check "the installed binary starts in the minbase root and answers /healthz" wait_http "http://127.0.0.1:$HTTP/healthz"
  check "--probe inside the root sees it healthy" chroot "$R" /usr/bin/streamgate --probe "http://127.0.0.1:$HTTP/healthz"
  check "the installed binary serves the embedded player" bash -c \
    "curl -fsS 'http://127.0.0.1:$HTTP/' | cmp -s - web/player/streams.html"
  stop_pid "$SERVER"
  section_end deb
fi

if want k8s; then
  section_start "Kubernetes manifests"
  if [ ! -d tests/deploy/node_modules/kubernetes-models ]; then
    (cd tests/deploy && npm install --no-audit --no-fund --loglevel=error)
  fi
  check "manifests render and pass the schema and mechanical checks" bash -c \
    "node tests/deploy/check_k8s.mjs '$ROOT' >'$T/k8s.json'"
  python3 - "$T/k8s.json" "$T" <<'EOF'
import json, sys
facts = json.loads(open(sys.argv[1]).read().strip().splitlines()[-1])
open(sys.argv[2] + "/k8s.yaml", "w").write(facts["config"])
open(sys.argv[2] + "/k8s.env", "w").write("".join(f"{k}={v}\n" for k, v in facts["env"].items()))
open(sys.argv[2] + "/k8s.probes", "w").write("\n".join(facts["probes"]) + "\n")
EOF
  mapfile -t envs <"$T/k8s.env"
  check "the ConfigMap passes streamgate --check-config (downward API variables set)" \
    env "${envs[@]}" "$BUILD/streamgate" --check-config --config "$T/k8s.yaml"
  HTTP=$(free_port tcp) RTSP=$(free_port tcp) UDP=$(free_port udp)
  env "${envs[@]}" STREAMGATE_SERVER__HTTP="127.0.0.1:$HTTP" STREAMGATE_SERVER__RTSP="127.0.0.1:$RTSP" \
    STREAMGATE_SERVER__WEBRTC_UDP="127.0.0.1:$UDP" "$BUILD/streamgate" --config "$T/k8s.yaml" >"$T/k8s_server.log" 2>&1 &
  SERVER=$!
  PIDS+=($SERVER)
  wait_http "http://127.0.0.1:$HTTP/healthz" || true
  while read -r probe; do
    check "probe path $probe answers 200 on a server run with the ConfigMap" \
      "$BUILD/streamgate" --probe "http://127.0.0.1:$HTTP$probe"
  done <"$T/k8s.probes"
  # Rolling updates: with the ConfigMap's shutdown_grace, SIGTERM turns /readyz to 503 at once while /healthz stays
  # 200 (the pod leaves the Services, is not restarted); a second signal ends the grace period early.
  kill -TERM "$SERVER"
  drains() {
    for _ in $(seq 50); do
      [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$HTTP/readyz")" = 503 ] && break
      sleep 0.1
    done
    [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$HTTP/readyz")" = 503 ] &&
      [ "$(curl -s -o /dev/null -w '%{http_code}' --max-time 1 "http://127.0.0.1:$HTTP/healthz")" = 200 ]
  }
  check "SIGTERM drains: /readyz 503, /healthz 200 (the ConfigMap's shutdown_grace)" drains
  stop_pid "$SERVER"
  section_end k8s
fi

if want image; then
  section_start "container image"
  base_images
  # Build once: when the deb section above has made and checked the .deb from build/release, the Dockerfile's run
  # stage takes that package (--build-context build=DIR stands in for the build stage, which buildah then skips:
  # ~10 min of compiling on 2 cores). SG_IMAGE_FROM_SOURCE=1, or the image section run alone, compiles in the build
  # stage as `podman build .` does. Either way the toolchain stage is checked: the project configures in it, so every
  # library the build stage needs is there.
  from_deb=()
  if [ -n "${DEB:-}" ] && [ "${SG_IMAGE_FROM_SOURCE:-0}" != 1 ]; then
    mkdir -p "$T/debctx"
    cp "$DEB" "$T/debctx/streamgate.deb"
    from_deb=(--build-context "build=$T/debctx")
    echo "  the run stage installs the .deb checked above (SG_IMAGE_FROM_SOURCE=1 compiles in the build stage)"
  fi
  toolchain_configures() {
    podman image exists streamgate/toolchain:bookworm || toolchain_layer "$T/toolchain_build.log" || return 1
    local ctr mnt rc=0
    ctr=$(buildah from --pull-never streamgate/toolchain:bookworm) && mnt=$(buildah mount "$ctr") || return 1
    mkdir -p "$mnt/src"
    mount --bind -o ro "$ROOT" "$mnt/src" &&
      { chroot "$mnt" cmake -S /src -B /tmp/configure -G Ninja -DCMAKE_BUILD_TYPE=Release -DSG_TESTS=OFF \
          -DSG_BENCH=OFF >"$T/toolchain_configure.log" 2>&1 || { tail -20 "$T/toolchain_configure.log"; rc=1; }
        umount "$mnt/src"; } || rc=1
    buildah umount "$ctr" >/dev/null
    buildah rm "$ctr" >/dev/null
    return $rc
  }
  check "the image's toolchain stage has every library the build needs (cmake configures in it)" toolchain_configures
  start=$(date +%s)
  # chroot isolation: this sandbox refuses the OCI runtime's setrlimit calls; --layers caches the apt steps.
  # Each line of the build log stamped with the seconds since the build started: the steps' times are printed.
  image_build() {
    set -o pipefail
    buildah build --isolation chroot --network host --pull=never --force-rm --layers --format docker \
      "${from_deb[@]}" -t "$IMAGE" . 2>&1 |
      while IFS= read -r line; do printf '%5d %s\n' "$(($(date +%s) - start))" "$line"; done >"$T/image_build.log" ||
      { tail -30 "$T/image_build.log"; return 1; }
  }
  check "buildah builds the Dockerfile" image_build
  echo "  image build took $(($(date +%s) - start)) s; its steps started at (s):"
  grep -E '^ *[0-9]+ \[[0-9]/[0-9]\] STEP .*(RUN|FROM)' "$T/image_build.log" | cut -c1-110 | sed 's/^/  /'
  podman image inspect --format '  image size: {{.Size}} bytes' "$IMAGE" || true
  podman history --format '  layer {{.Size}}: {{.CreatedBy}}' "$IMAGE" | grep -v ' 0 B:' | cut -c1-90 || true
  cfg=$(buildah inspect --type image "$IMAGE" | python3 -c 'import json,sys; print(json.dumps(json.load(sys.stdin)["Docker"]["config"], separators=(",", ":")))')
  echo "  config: $cfg"
  check "image runs as user 10001" bash -c "[[ '$cfg' == *'\"User\":\"10001:10001\"'* ]]"
  check "image exposes 8080 8554 8189/udp 8443" bash -c "[[ '$cfg' == *8080/tcp* && '$cfg' == *8554/tcp* && '$cfg' == *8189/udp* && '$cfg' == *8443/tcp* ]]"
  check "image has a curl-free HEALTHCHECK and STOPSIGNAL" bash -c "[[ '$cfg' == *'--probe'* && '$cfg' == *'\"StopSignal\":\"SIGTERM\"'* ]]"
  ctr=$(buildah from --pull-never "$IMAGE")
  mnt=$(buildah mount "$ctr")
  I=$T/imagefs
  mkdir -p "$I"
  cp -a "$mnt/." "$I/"
  buildah umount "$ctr" >/dev/null
  buildah rm "$ctr" >/dev/null
  check "the image has no curl" test ! -e "$I/usr/bin/curl"
  check "the image has libavcodec for AAC -> Opus" bash -c "ls '$I'/usr/lib/x86_64-linux-gnu/libavcodec.so.* >/dev/null"
  prepare_root "$I"
  HTTP=$(free_port tcp) RTSP=$(free_port tcp) UDP=$(free_port udp)
  # As the image's user, with its command line; only the ports are moved off the defaults.
  chroot --userspec=10001:10001 "$I" env -i PATH=/usr/sbin:/usr/bin:/sbin:/bin \
    STREAMGATE_SERVER__HTTP="127.0.0.1:$HTTP" STREAMGATE_SERVER__RTSP="127.0.0.1:$RTSP" \
    STREAMGATE_SERVER__WEBRTC_UDP="127.0.0.1:$UDP" /usr/bin/streamgate --config /etc/streamgate/streamgate.yaml \
    >"$T/image_server.log" 2>&1 &
  SERVER=$!
  PIDS+=($SERVER)
  check "the image's server starts as uid 10001" wait_http "http://127.0.0.1:$HTTP/healthz"
  check "it runs as non-root (uid 10001)" test "$(stat -c %u "/proc/$SERVER")" = 10001
  check "the image's HEALTHCHECK command succeeds" chroot --userspec=10001:10001 "$I" /usr/bin/streamgate --probe \
    "http://127.0.0.1:$HTTP/healthz"
  check "a stream published into it becomes ready" publish "$RTSP" cam "$HTTP"
  check "Chromium plays the stream from the image's server (WebRTC and HLS)" plays "http://127.0.0.1:$HTTP" cam
  stop_pid "$SERVER"
  section_end image
fi

echo
echo "package: $pass passed, $fail failed"
[ "$fail" = 0 ]
