#!/usr/bin/env bash
# RTSP fan-out cost of streamgate: one ffmpeg publisher (2 Mb/s H.264 720p30 over RTSP/TCP), N readers with
# bench/rtsp_readers for D seconds; the server's CPU (utime+stime from /proc/<pid>/stat) and RSS are sampled
# around the readers' run. Three runs; the median run (by CPU) is printed at the end.
#
#   bench/rtsp_fanout.sh [-n READERS] [-d SECONDS] [-t tcp|udp] [-r RUNS] [-b BUILD_DIR]
# Env: STREAMGATE (server binary, default BUILD_DIR/streamgate), RTSP_READERS (default BUILD_DIR/bench/rtsp_readers).
set -euo pipefail
cd "$(dirname "$0")/.."

readers=200
duration=20
transport=tcp
runs=3
build=build/release
while getopts "n:d:t:r:b:" opt; do
  case $opt in
    n) readers=$OPTARG ;;
    d) duration=$OPTARG ;;
    t) transport=$OPTARG ;;
    r) runs=$OPTARG ;;
    b) build=$OPTARG ;;
    *) echo "usage: $0 [-n READERS] [-d SECONDS] [-t tcp|udp] [-r RUNS] [-b BUILD_DIR]" >&2; exit 2 ;;
  esac
done
server_bin=${STREAMGATE:-$build/streamgate}
readers_bin=${RTSP_READERS:-$build/bench/rtsp_readers}
for b in "$server_bin" "$readers_bin"; do
  [[ -x $b ]] || { echo "missing $b (build it first)" >&2; exit 2; }
done
command -v ffmpeg >/dev/null || { echo "ffmpeg not found" >&2; exit 2; }

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
clk_tck=$(getconf CLK_TCK)
page_kb=$(( $(getconf PAGESIZE) / 1024 ))
# utime+stime in clock ticks (fields 14 and 15 of /proc/pid/stat, counted after the ")" of the command name).
cpu_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
rss_kb() { awk -v p="$page_kb" '{ print $2 * p }' "/proc/$1/statm"; }

work=$(mktemp -d /tmp/rtsp_fanout.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

results=()
for run in $(seq 1 "$runs"); do
  http=$(free_port); rtsp=$(free_port); webrtc=$(free_port)
  setsid "$server_bin" --http "127.0.0.1:$http" --rtsp "127.0.0.1:$rtsp" --webrtc-udp "127.0.0.1:$webrtc" \
    --log-level warn >"$work/server$run.log" 2>&1 &
  server=$!
  pids+=("$server")
  for _ in $(seq 100); do curl -fs "http://127.0.0.1:$http/readyz" >/dev/null 2>&1 && break; sleep 0.05; done
  url="rtsp://127.0.0.1:$rtsp/fanout"
  setsid ffmpeg -nostdin -hide_banner -loglevel error -re -f lavfi -i testsrc2=size=1280x720:rate=30 \
    -c:v libx264 -preset ultrafast -tune zerolatency -b:v 2M -maxrate 2M -bufsize 1M -g 60 \
    -f rtsp -rtsp_transport tcp "$url" >"$work/ffmpeg$run.log" 2>&1 &
  publisher=$!
  pids+=("$publisher")
  ready=0
  for _ in $(seq 200); do
    if curl -fs "http://127.0.0.1:$http/api/v1/streams/fanout" 2>/dev/null | grep -q '"state":"ready"'; then ready=1; break; fi
    sleep 0.05
  done
  if [[ $ready != 1 ]]; then
    echo "run $run: the published stream never became ready; server log:" >&2
    tail -20 "$work/server$run.log" >&2
    tail -5 "$work/ffmpeg$run.log" >&2
    exit 1
  fi
  sleep 2  # let the encoder settle before measuring
  # The source rate as the server sees it (bytes received per second over 3 s).
  in0=$(curl -fs "http://127.0.0.1:$http/api/v1/streams/fanout" | sed -n 's/.*"bytes_received":\([0-9]*\).*/\1/p')
  cpu0=$(cpu_ticks "$server"); rss0=$(rss_kb "$server"); t0=$(date +%s.%N)
  set +e
  "$readers_bin" --url "$url" --readers "$readers" --duration "$duration" --transport "$transport" \
    --min-packets 100 --json >"$work/readers$run.json" 2>"$work/readers$run.err"
  rc=$?
  set -e
  cpu1=$(cpu_ticks "$server"); rss1=$(rss_kb "$server"); t1=$(date +%s.%N)
  in1=$(curl -fs "http://127.0.0.1:$http/api/v1/streams/fanout" | sed -n 's/.*"bytes_received":\([0-9]*\).*/\1/p')
  line=$(/usr/bin/python3 - "$work/readers$run.json" "$cpu0" "$cpu1" "$t0" "$t1" "$rss0" "$rss1" "$in0" "$in1" \
    "$clk_tck" "$readers" "$rc" <<'EOF'
import json, sys
f, cpu0, cpu1, t0, t1, rss0, rss1, in0, in1, tck, n, rc = sys.argv[1:]
r = json.load(open(f))
secs = float(t1) - float(t0)
cpu = (int(cpu1) - int(cpu0)) / int(tck) / secs * 100
n = int(n)
src_kbps = (int(in1 or 0) - int(in0 or 0)) * 8 / 1000 / secs if in0 and in1 else 0
print(json.dumps({
    "cpu_pct": round(cpu, 1), "cpu_pct_per_reader": round(cpu / n, 4),
    "rss_mb_before": round(int(rss0) / 1024, 1), "rss_mb_after": round(int(rss1) / 1024, 1),
    "rss_kb_per_reader": round((int(rss1) - int(rss0)) / n, 1),
    "reader_kbps_median": r["kbps"]["median"], "reader_kbps_min": r["kbps"]["min"],
    "source_kbps": round(src_kbps, 1),
    "ok_readers": r["ok"], "connected": r["connected"], "lost": r["lost"], "errors": r["errors"],
    "not_keyframe_start": r["not_keyframe_start"], "readers_exit": int(rc)}))
EOF
)
  echo "run $run: $line"
  results+=("$line")
  cleanup
  pids=()
done

/usr/bin/python3 - "$readers" "$transport" "$duration" "${results[@]}" <<'EOF'
import json, sys
n, transport, duration = sys.argv[1:4]
runs = sorted((json.loads(x) for x in sys.argv[4:]), key=lambda r: r["cpu_pct"])
m = runs[len(runs) // 2]
print(f"median of {len(runs)} runs, {n} RTSP/{transport.upper()} readers x {duration} s of a 2 Mb/s H.264 stream:")
print(f"  server CPU: {m['cpu_pct']}% of one core, {m['cpu_pct_per_reader']}% per reader")
print(f"  server RSS: {m['rss_mb_before']} MB -> {m['rss_mb_after']} MB, {m['rss_kb_per_reader']} KB per reader")
ratio = m['reader_kbps_median'] / m['source_kbps'] if m['source_kbps'] else 0
print(f"  receive rate per reader: median {m['reader_kbps_median']} kbit/s, min {m['reader_kbps_min']} kbit/s,"
      f" source {m['source_kbps']} kbit/s (median/source {ratio:.2f})")
print(f"  readers ok: {m['ok_readers']}/{n}, lost packets {m['lost']}, errors {m['errors']}")
EOF
