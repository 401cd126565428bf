#!/usr/bin/env bash
# RTSP ingest cost of streamgate: N publishers (bench/rtsp_publishers, 1 Mb/s real H.264 320x240@30 over RTSP/TCP,
# to paths pub0..pub<N-1>; publishing to an unconfigured path creates the stream, rtsp.allow_any_publish defaults to
# true) for D seconds. Checks with GET /api/v1/streams that all N streams are "ready", samples the server's CPU
# (utime+stime from /proc/<pid>/stat) and RSS while one bench/rtsp_readers reader plays pub0 and measures the
# forwarding latency from the publishers' send-time RTP header extension. Prints one line (or, with --json, one
# JSON object). Exit status: 0 when every publisher recorded and every stream was ready, 1 otherwise, 2 on usage.
#
#   bench/ingest_bench.sh [-n PUBLISHERS] [-d SECONDS] [-b BUILD_DIR] [--json]
# Env: STREAMGATE (server binary, default BUILD_DIR/streamgate), RTSP_PUBLISHERS, RTSP_READERS (default
# BUILD_DIR/bench/...).
set -euo pipefail
cd "$(dirname "$0")/.."

publishers=10
duration=10
build=build/release
json=0
usage() { echo "usage: $0 [-n PUBLISHERS] [-d SECONDS] [-b BUILD_DIR] [--json]" >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  case $1 in
    -n) [[ $# -ge 2 ]] || usage; publishers=$2; shift 2 ;;
    -d) [[ $# -ge 2 ]] || usage; duration=$2; shift 2 ;;
    -b) [[ $# -ge 2 ]] || usage; build=$2; shift 2 ;;
    --json) json=1; shift ;;
    *) usage ;;
  esac
done
[[ $publishers =~ ^[1-9][0-9]*$ && $duration =~ ^[1-9][0-9]*$ ]] || usage
server_bin=${STREAMGATE:-$build/streamgate}
publishers_bin=${RTSP_PUBLISHERS:-$build/bench/rtsp_publishers}
readers_bin=${RTSP_READERS:-$build/bench/rtsp_readers}
for b in "$server_bin" "$publishers_bin" "$readers_bin"; do
  [[ -x $b ]] || { echo "missing $b (build it first)" >&2; exit 2; }
done

free_port() { /usr/bin/python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
clk_tck=$(getconf CLK_TCK)
page_kb=$(( $(getconf PAGESIZE) / 1024 ))
# utime+stime in clock ticks (fields 14 and 15 of /proc/pid/stat, counted after the ")" of the command name).
cpu_ticks() { awk '{ sub(/.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
rss_kb() { awk -v p="$page_kb" '{ print $2 * p }' "/proc/$1/statm"; }

work=$(mktemp -d /tmp/ingest_bench.XXXXXX)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill -TERM -- "-$p" 2>/dev/null || kill -TERM "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
}
trap cleanup EXIT

http=$(free_port); rtsp=$(free_port); webrtc=$(free_port)
setsid "$server_bin" --http "127.0.0.1:$http" --rtsp "127.0.0.1:$rtsp" --webrtc-udp "127.0.0.1:$webrtc" \
  --log-level warn >"$work/server.log" 2>&1 &
server=$!
pids+=("$server")
for _ in $(seq 100); do curl -fs "http://127.0.0.1:$http/readyz" >/dev/null 2>&1 && break; sleep 0.05; done
rss_idle=$(rss_kb "$server")

# Count of our streams (pub*) in state "ready".
ready_count() {
  curl -fs "http://127.0.0.1:$http/api/v1/streams" 2>/dev/null | /usr/bin/python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
except Exception:
    print(0); sys.exit()
if isinstance(d, dict): d = d.get("streams", d.get("items", []))
print(sum(1 for s in d if str(s.get("id", "")).startswith("pub") and s.get("state") == "ready"))'
}

# Bytes received by the server on our streams (pub*), summed.
bytes_in() {
  curl -fs "http://127.0.0.1:$http/api/v1/streams" 2>/dev/null | /usr/bin/python3 -c '
import json, sys
try:
    d = json.load(sys.stdin)
except Exception:
    print(0); sys.exit()
if isinstance(d, dict): d = d.get("streams", d.get("items", []))
print(sum(int(s.get("bytes_received", 0)) for s in d if str(s.get("id", "")).startswith("pub")))'
}

# Publishers run for the ramp, the wait for "ready" (at most 5 s), 1 s of settling and the measurement.
pub_duration=$((duration + 8))
setsid "$publishers_bin" --url "rtsp://127.0.0.1:$rtsp/pub" --publishers "$publishers" --duration "$pub_duration" \
  --bitrate 1000000 --fps 30 --ramp-ms 5 --json >"$work/publishers.json" 2>"$work/publishers.err" &
publisher=$!
pids+=("$publisher")
ready=0
deadline=$(( $(date +%s) + 5 + publishers * 5 / 1000 ))
while (( $(date +%s) <= deadline )); do
  ready=$(ready_count)
  (( ready >= publishers )) && break
  sleep 0.2
done
sleep 1
read_path=pub0
(( publishers == 1 )) && read_path=pub

in0=$(bytes_in); cpu0=$(cpu_ticks "$server"); rss0=$(rss_kb "$server"); t0=$(date +%s.%N)
set +e
"$readers_bin" --url "rtsp://127.0.0.1:$rtsp/$read_path" --readers 1 --duration "$duration" --min-packets 100 \
  --json >"$work/reader.json" 2>"$work/reader.err"
reader_rc=$?
set -e
cpu1=$(cpu_ticks "$server"); rss1=$(rss_kb "$server"); t1=$(date +%s.%N); in1=$(bytes_in)
ready_end=$(ready_count)
set +e
wait "$publisher"
publishers_rc=$?
set -e

/usr/bin/python3 - "$work" "$publishers" "$duration" "$ready" "$ready_end" "$cpu0" "$cpu1" "$t0" "$t1" \
  "$rss_idle" "$rss0" "$rss1" "$clk_tck" "$reader_rc" "$publishers_rc" "$json" "$in0" "$in1" <<'EOF'
import json, sys
(work, n, duration, ready, ready_end, cpu0, cpu1, t0, t1, rss_idle, rss0, rss1, tck, reader_rc, pub_rc,
 as_json, in0, in1) = sys.argv[1:]
n = int(n)
def load(name):
    try:
        return json.load(open(f"{work}/{name}"))
    except Exception:
        return {}
pub = load("publishers.json")
rd = load("reader.json")
secs = float(t1) - float(t0)
cpu = (int(cpu1) - int(cpu0)) / int(tck) / secs * 100
lat = rd.get("latency_us", {})
out = {
    "publishers": n, "connected": pub.get("connected", 0), "failed": pub.get("failed", n),
    "ready": int(ready), "ready_at_end": int(ready_end), "seconds": round(secs, 2),
    "server_cpu_pct": round(cpu, 1), "cpu_pct_per_publisher": round(cpu / n, 3),
    "rss_mb_idle": round(int(rss_idle) / 1024, 1), "rss_mb": round(int(rss1) / 1024, 1),
    "rss_kb_per_publisher": round((int(rss1) - int(rss_idle)) / n, 1),
    "publisher_kbps_median": pub.get("kbps", {}).get("median", 0), "late_frames": pub.get("late_frames", 0),
    "server_in_kbps_per_publisher": round((int(in1) - int(in0)) * 8 / 1000 / secs / n, 1),
    "reader_kbps": rd.get("kbps", {}).get("median", 0), "reader_lost": rd.get("lost", 0),
    "latency_us": lat, "publisher_errors": pub.get("errors", {}), "reader_errors": rd.get("errors", {}),
    "publishers_exit": int(pub_rc), "reader_exit": int(reader_rc),
}
ok = out["connected"] == n and out["failed"] == 0 and out["ready"] == n
if as_json == "1":
    print(json.dumps(out))
else:
    l = f"p50 {lat['p50']:.0f} us p99 {lat['p99']:.0f} us p999 {lat['p999']:.0f} us" if lat else "n/a"
    print(f"publishers {n} connected {out['connected']} ready {out['ready']}/{n} (at end {out['ready_at_end']})"
          f" | server CPU {out['server_cpu_pct']}% ({out['cpu_pct_per_publisher']}%/publisher)"
          f" | RSS {out['rss_mb']} MB (idle {out['rss_mb_idle']}, {out['rss_kb_per_publisher']} KB/publisher)"
          f" | publisher {out['publisher_kbps_median']} kbit/s sent, {out['server_in_kbps_per_publisher']} received,"
          f" late frames {out['late_frames']}"
          f" | latency {l} | errors {out['publisher_errors'] or out['reader_errors'] or 'none'}")
sys.exit(0 if ok else 1)
EOF
