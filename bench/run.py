#!/usr/bin/python3
"""streamgate's performance table, measured on this machine with the project's own load tools.

    bench/run.sh [--quick] [--build build/release] [--only NAME[,NAME]] [--json FILE]
                 [--webrtc-viewers 100,500,1000,2000] [--workers 2] [--webrtc-no-gro] [--webrtc-slices 1]
                 [--record-streams 100]

Rows (issue #6): start to ready (median of 20), idle RSS after 5 s, REST throughput of GET /api/v1/streams with 100
streams (wrk), RTSP fan-out (one 2 Mb/s H.264 stream, N TCP readers), WebRTC fan-out (N WHEP viewers of a 600 kb/s
stream), ingest capacity (N RTSP publishers of 1 Mb/s), RTMP ingest and fan-out (200 publishers, 200 players of one
stream: server CPU per publisher / player), ingest-to-egress latency (send time carried in an RTP header
extension from rtsp_publishers to rtsp_readers), the seed's signaling test (1000 WebSocket users ramped over
60 s) and recording (issue #17, `--only record`: N streams of 2 Mb/s recorded at once against the same load
unrecorded: CPU, write throughput, live readers' latency). The server and the load tools share the machine, as the
targets assume. The RTSP and WebRTC fan-out rows
also say how many times the kernel floor the server costs (bench/kernel_floor: the same bytes, sockets and syscall
pattern and nothing else, run right after the row with the same N and duration).

--quick runs every row with tiny N and a few seconds each: CI uses it so the tools never rot (it checks that they
work, not how fast). Other servers: the tools take any URL (see each tool's --help).
"""
import argparse
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time

from startup import free_port  # bench/startup.py, next to this file

ROOT = os.path.abspath(os.path.join(os.path.dirname(__file__), ".."))
CLK_TCK = os.sysconf("SC_CLK_TCK")
PAGE_KB = os.sysconf("SC_PAGE_SIZE") // 1024


def http_get(port, path, timeout=2.0):
    with socket.create_connection(("127.0.0.1", port), timeout=timeout) as c:
        c.sendall(f"GET {path} HTTP/1.1\r\nHost: 127.0.0.1:{port}\r\nConnection: close\r\n\r\n".encode())
        data = b""
        while True:
            chunk = c.recv(65536)
            if not chunk:
                break
            data += chunk
    head, _, body = data.partition(b"\r\n\r\n")
    status = int(head.split(b" ")[1]) if head.startswith(b"HTTP/") else 0
    return status, body.decode(errors="replace")


class Server:
    """A streamgate process on free ports with a generated config; CPU and RSS read from /proc."""

    def __init__(self, binary, config="", workers=None):
        self.http, self.rtsp, self.udp, self.rtmp = free_port(), free_port(), free_port(), free_port()
        self.dir = tempfile.mkdtemp(prefix="sg_bench_")
        cfg = os.path.join(self.dir, "streamgate.yaml")
        with open(cfg, "w") as f:
            f.write("log: { level: warn, format: text }\n")
            if workers:
                f.write(f"workers: {workers}\n")
            f.write(config)
        self.log = open(os.path.join(self.dir, "server.log"), "w")
        self.proc = subprocess.Popen([binary, "--config", cfg, "--http", f"127.0.0.1:{self.http}",
                                      "--rtsp", f"127.0.0.1:{self.rtsp}", "--webrtc-udp", f"127.0.0.1:{self.udp}",
                                      "--rtmp", f"127.0.0.1:{self.rtmp}"],
                                     stdout=self.log, stderr=subprocess.STDOUT, start_new_session=True)
        deadline = time.time() + 10
        while time.time() < deadline:
            try:
                if http_get(self.http, "/readyz")[0] == 200:
                    return
            except OSError:
                pass
            time.sleep(0.02)
        raise RuntimeError("server did not become ready; log in " + self.dir)

    def cpu_s(self):
        with open(f"/proc/{self.proc.pid}/stat") as f:
            fields = f.read().rsplit(")", 1)[1].split()
        return (int(fields[11]) + int(fields[12])) / CLK_TCK

    def thread_cpu_s(self):
        """CPU seconds per thread: {tid: (name, seconds)} from /proc/PID/task/TID/stat (workers are sg-worker-N)."""
        out = {}
        for tid, (stat,) in thread_files(f"/proc/{self.proc.pid}/task", "stat"):
            try:
                head, rest = stat.rsplit(")", 1)
                fields = rest.split()
                out[tid] = (head.split("(", 1)[1], (int(fields[11]) + int(fields[12])) / CLK_TCK)
            except (IndexError, ValueError):
                continue
        return out

    def worker_sched(self):
        """The worker threads' scheduler times, summed: (ns on a CPU, ns runnable but waiting for one), from
        /proc/PID/task/TID/schedstat."""
        return sched_times(f"/proc/{self.proc.pid}/task", lambda name: name.startswith("sg-worker-"))

    def rss_kb(self):
        with open(f"/proc/{self.proc.pid}/statm") as f:
            return int(f.read().split()[1]) * PAGE_KB

    def stream(self, name):
        status, body = http_get(self.http, "/api/v1/streams/" + name)
        return json.loads(body) if status == 200 else {}

    def wait_ready(self, name, timeout=20):
        deadline = time.time() + timeout
        while time.time() < deadline:
            if self.stream(name).get("state") == "ready":
                return True
            time.sleep(0.1)
        return False

    def stop(self):
        try:
            os.killpg(self.proc.pid, signal.SIGTERM)
            self.proc.wait(timeout=5)
        except (ProcessLookupError, subprocess.TimeoutExpired):
            self.proc.kill()
        self.log.close()

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stop()


def exec_source(width, height, bitrate_k, audio, slices=0):
    """An exec: source line (ffmpeg test pattern published into the server). slices > 0: exactly that many slices
    (NAL units) per frame from a one-thread x264; 0: x264's default, sliced threads (as many slices as threads)."""
    inputs = f"-f lavfi -i testsrc2=size={width}x{height}:rate=30"
    x264 = f" -threads 1 -x264-params slices={slices}" if slices > 0 else ""
    acodec = "-an"
    if audio:
        inputs += " -f lavfi -i sine=frequency=440:sample_rate=48000"
        acodec = "-c:a aac -b:a 64k"
    return (f"exec:ffmpeg -hide_banner -loglevel error -re {inputs} -c:v libx264 -preset ultrafast -tune zerolatency{x264}"
            f" -g 60 -b:v {bitrate_k}k -maxrate {bitrate_k}k -bufsize {bitrate_k // 2}k -pix_fmt yuv420p {acodec}"
            f" -f rtsp -rtsp_transport tcp rtsp://127.0.0.1:$RTSP_PORT/$STREAM")


def tool_json(args, timeout):
    """Runs a load tool with --json; returns (exit code, parsed last JSON line or {})."""
    r = subprocess.run(args + ["--json"], capture_output=True, text=True, timeout=timeout)
    for line in reversed(r.stdout.strip().splitlines()):
        if line.startswith("{"):
            return r.returncode, json.loads(line)
    sys.stderr.write(r.stdout[-2000:] + r.stderr[-2000:])
    return r.returncode, {}


def cpu_times():
    """The machine's CPU times from /proc/stat (user nice system idle iowait irq softirq steal ...), in ticks."""
    with open("/proc/stat") as f:
        return [int(x) for x in f.readline().split()[1:]]


def thread_files(task_dir, *names):
    """Yields (tid, [text of each named file]) for every thread in task_dir (/proc/PID/task), skipping a thread that
    ended meanwhile."""
    for tid in os.listdir(task_dir):
        try:
            texts = []
            for name in names:
                with open(f"{task_dir}/{tid}/{name}") as f:
                    texts.append(f.read())
        except OSError:
            continue
        yield int(tid), texts


def sched_times(task_dir, wanted):
    """(ns on a CPU, ns runnable but waiting for a CPU) summed over the threads in task_dir whose name wanted()
    accepts: the first two fields of each thread's schedstat."""
    run = wait = 0
    for _, (comm, schedstat) in thread_files(task_dir, "comm", "schedstat"):
        try:
            fields = schedstat.split()
            if wanted(comm.strip()):
                run, wait = run + int(fields[0]), wait + int(fields[1])
        except (IndexError, ValueError):
            continue
    return run, wait


def run_queue_wait(before, after):
    """'waited X ms runnable per second on a CPU' between two sched_times() samples (None when nothing ran)."""
    ran, waited = after[0] - before[0], after[1] - before[1]
    return f"{1000 * waited / ran:.0f} ms runnable per s on a CPU" if ran > 0 else None


def measured(server, fn):
    """Runs fn() and returns (its result, server CPU in % of one core, RSS before, RSS after in KiB)."""
    cpu0, t0, rss0 = server.cpu_s(), time.time(), server.rss_kb()
    out = fn()
    cpu1, t1, rss1 = server.cpu_s(), time.time(), server.rss_kb()
    return out, 100.0 * (cpu1 - cpu0) / max(t1 - t0, 1e-6), rss0, rss1


# ---- the kernel as the yardstick (issue #14)

FLOOR = {}  # row measure -> "x.x times the kernel floor", the extra column of the fan-out rows


def kernel_floor(a, measure, mode, n, duration, server_cpu, extra=()):
    """Runs bench/kernel_floor: the same bytes to the same number of loopback sockets with the server's syscall
    pattern and nothing else, for the row's duration; records streamgate's CPU per reader/viewer as a multiple of
    the floor's (utime + stime of the floor process only; both in % of one core, so the ratio needs no units)."""
    rc, r = tool_json([os.path.join(a.build, "bench", "kernel_floor"), "--mode", mode, "--sinks", str(n),
                       "--duration", str(duration)] + list(extra) + (["--no-gro"] if mode == "webrtc" and a.webrtc_no_gro else []),
                      duration + 60)
    floor = r.get("cpu_percent", 0)
    if rc != 0 or floor <= 0:
        FLOOR[measure] = "floor not measured"
        return {}
    batched = f", io_uring batches of {r['uring']}" if r.get("uring") else ""
    FLOOR[measure] = (f"{server_cpu / floor:.1f} times the kernel floor "
                      f"({floor / n:.5f}%/{'reader' if mode == 'rtsp' else 'viewer'}, {r.get('syscalls')} syscalls"
                      f"{batched})")
    return r


# ---- rows

def row_startup(a, rows):
    runs, idle = (3, 0.5) if a.quick else (20, 5.0)
    r = subprocess.run([sys.executable, os.path.join(ROOT, "bench", "startup.py"), "--binary", a.binary,
                        "--runs", str(runs), "--idle", str(idle), "--rss-runs", "1" if a.quick else "3"],
                       capture_output=True, text=True, timeout=300)
    vals = dict(re.findall(r"^(\w+) ([\d.]+)$", r.stdout, re.M))
    rows.append(("start to ready (median of %d)" % runs, f"{float(vals['start_to_ready_ms_median']):.2f} ms",
                 "<= 5 ms", float(vals["start_to_ready_ms_median"]) <= 5))
    rows.append(("idle RSS after %g s" % idle, f"{float(vals['idle_rss_mib_median']):.2f} MiB", "<= 5 MB",
                 float(vals["idle_rss_mib_median"]) * 1.048576 <= 5))


def row_rest(a, rows):
    n = 10 if a.quick else 100
    config = "streams:\n" + "".join(f"  cam{i}: {{ source: \"rtsp://10.255.0.{i % 250 + 1}/s\", on_demand: true }}\n"
                                     for i in range(n))
    with Server(a.binary, config) as s:
        duration = "2s" if a.quick else "10s"
        r = subprocess.run(["wrk", "-t2", "-c64", "-d" + duration, "--latency",
                            f"http://127.0.0.1:{s.http}/api/v1/streams"], capture_output=True, text=True, timeout=120)
        rps = float(re.search(r"Requests/sec:\s+([\d.]+)", r.stdout).group(1))
        lat = dict(re.findall(r"^\s+(50|99)%\s+([\d.]+\w+)", r.stdout, re.M))
        rows.append((f"REST GET /api/v1/streams, {n} streams (wrk -t2 -c64)",
                     f"{rps:,.0f} req/s, p50 {lat.get('50')}, p99 {lat.get('99')}", ">= 50K req/s, p99 <= 2 ms",
                     rps >= 50000 and to_ms(lat.get("99", "1s")) <= 2))


def to_ms(text):
    m = re.match(r"([\d.]+)(us|ms|s)", text)
    v = float(m.group(1))
    return v / 1000 if m.group(2) == "us" else v * 1000 if m.group(2) == "s" else v


def rtsp_publisher(a, url, bitrate, duration, n=1):
    return subprocess.Popen([os.path.join(a.build, "bench", "rtsp_publishers"), "--url", url, "--publishers", str(n),
                             "--duration", str(duration), "--bitrate", str(bitrate), "--json"],
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, start_new_session=True)


def quantiles_ms(q):
    """A tool's latency quantiles in us ({"p50", "p99", "p999"}) as "p50 X, p99 Y, p999 Z ms"."""
    return f"p50 {q['p50'] / 1000:.3f}, p99 {q['p99'] / 1000:.3f}, p999 {q['p999'] / 1000:.3f} ms"


def row_rtsp_fanout(a, rows, latency_rows):
    counts = [10] if a.quick else [100, 500, 1000, 2000]
    if a.rtsp_readers:
        counts = [int(x) for x in a.rtsp_readers.split(",")]
    duration = 3 if a.quick else 15
    for n in counts:
        with Server(a.binary) as s:
            # The publisher tool stamps every packet with its send time: readers measure forwarding latency too.
            pub = rtsp_publisher(a, f"rtsp://127.0.0.1:{s.rtsp}/fanout", 2_000_000, duration + 30)
            try:
                if not s.wait_ready("fanout"):
                    raise RuntimeError("publisher stream never ready")
                time.sleep(1)
                in0 = s.stream("fanout").get("bytes_received", 0)
                sched0 = s.worker_sched()
                (rc, r), cpu, rss0, rss1 = measured(s, lambda: tool_json(
                    [os.path.join(a.build, "bench", "rtsp_readers"), "--url", f"rtsp://127.0.0.1:{s.rtsp}/fanout",
                     "--readers", str(n), "--duration", str(duration), "--min-packets", "10"], duration + 120))
                in1 = s.stream("fanout").get("bytes_received", 0)
                waited = run_queue_wait(sched0, s.worker_sched())
            finally:
                os.killpg(pub.pid, signal.SIGTERM)
                pub.wait()
        per = cpu / n
        src_kbps = (in1 - in0) * 8 / 1000 / max(r.get("seconds", duration), 1)
        ratio = r.get("kbps", {}).get("min", 0) / src_kbps if src_kbps else 0
        rows.append((f"RTSP fan-out, {n} TCP readers of 2 Mb/s",
                     f"CPU {cpu:.1f}% ({per:.4f}%/reader = {100 / per if per else 0:,.0f} readers/core), "
                     f"RSS +{(rss1 - rss0) / n:.1f} KiB/reader, min rate {ratio:.3f} of source, "
                     f"ok {r.get('ok')}/{n}, lost {r.get('lost')}",
                     ">= 1500 readers/core", per > 0 and 100 / per >= 1500 and rc == 0))
        # As many sending threads as the server has workers (its default: one per core), each handing its readers'
        # writes to the kernel 64 at a time through io_uring as the workers do (net::SendBatch::kCapacity; the floor
        # falls back to one sendmsg each where io_uring is unavailable, as the server does).
        floor = kernel_floor(a, rows[-1][0], "rtsp", n, duration, cpu,
                             ["--threads", str(os.cpu_count() or 1), "--uring", "64"])
        lat, app = r.get("latency_us"), r.get("app_latency_us")
        if lat:
            # At the reader's socket (the kernel's receive time): what the server adds. In the tool: plus the load
            # tool's own queue (one thread reads the N sockets one after another), shown for comparison.
            in_tool = f"; parsed by the tool: {quantiles_ms(app)}" if app else ""
            # The readers that read one unit at a time: their socket times are not pushed later by the tool's lag.
            exact = r.get("exact_latency_us")
            if exact:
                readers = f"{exact['readers']} reader{'' if exact['readers'] == 1 else 's'}"
                in_tool += f"; one unit per read ({readers}): {quantiles_ms(exact)}"
            target, ok = ("p99 <= 8 ms, p50 <= 3 ms", lat["p99"] <= 8000 and lat["p50"] <= 3000) if n >= 1000 \
                else ("p99 <= 1 ms", lat["p99"] <= 1000)
            name = f"forwarding latency under {n} readers (at the reader's socket)"
            fl = floor.get("latency_us")
            if fl:
                # The floor's sequential passes, one per thread: each reader's sendmsg returning after the frame's tick.
                FLOOR[name] = f"floor's passes ({floor.get('threads')} threads): {quantiles_ms(fl)}"
                sched = floor.get("sched_ns", {})
                floor_waited = run_queue_wait((0, 0), (sched.get("run", 0), sched.get("wait", 0)))
                if floor_waited:
                    FLOOR[name] += f"; its threads waited {floor_waited}"
            if waited:
                # Time the workers were runnable but had no CPU, in a pass or woken for the next unit (the readers'
                # tool, the other worker, the host): part of why a pass takes longer than its CPU time.
                in_tool += f"; the workers waited {waited}"
            latency_rows.append((name,
                                 f"p50 {lat['p50'] / 1000:.3f} ms, p99 {lat['p99'] / 1000:.3f} ms, "
                                 f"p999 {lat['p999'] / 1000:.3f} ms ({lat['samples']} samples){in_tool}",
                                 target, ok))


def worker_shares(before, after):
    """Each worker thread's share of the server's CPU between two thread_cpu_s() samples: [(name, %), ...]."""
    used = {tid: (name, sec - before.get(tid, (name, 0.0))[1]) for tid, (name, sec) in after.items()}
    total = sum(sec for _, sec in used.values())
    workers = sorted((name, sec) for name, sec in used.values() if name.startswith("sg-worker-"))
    return [(name, 100.0 * sec / total if total > 0 else 0.0) for name, sec in workers]


def row_webrtc_fanout(a, rows):
    counts = [5] if a.quick else [int(n) for n in a.webrtc_viewers.split(",") if n]
    duration = 3 if a.quick else 15
    for n in counts:
        config = f"webrtc: {{ max_sessions: {max(5000, n)} }}\nstreams:\n  live:\n    source: >-\n      " + \
                 exec_source(640, 360, 600, audio=False, slices=a.webrtc_slices) + "\n"
        with Server(a.binary, config, workers=a.workers) as s:
            if not s.wait_ready("live"):
                raise RuntimeError("exec source never ready: " + s.dir)
            time.sleep(1)
            threads0 = s.thread_cpu_s()
            in0, t0 = s.stream("live").get("bytes_received", 0), time.time()
            (rc, r), cpu, rss0, rss1 = measured(s, lambda: tool_json(
                [os.path.join(a.build, "bench", "webrtc_viewers"), "--url", f"http://127.0.0.1:{s.http}/live/whep",
                 "--viewers", str(n), "--duration", str(duration), "--timeout", "30",
                 "--threads", "2", "--min-ratio", "0.99"] + (["--no-gro"] if a.webrtc_no_gro else []), duration + 180))
            shares = worker_shares(threads0, s.thread_cpu_s())
            # The encoder shares the box: under load it may fall short of 600 kb/s, and the server then has less
            # to send. The row says what the source really sent over the measured period.
            src_kbps = (s.stream("live").get("bytes_received", 0) - in0) * 8 / 1000 / max(time.time() - t0, 1e-6)
        per = cpu / n
        # Sessions spread over the workers: each carries 0.7/W to 1.3/W of the server's CPU (35-65 % of 2).
        w = len(shares)
        spread = w < 2 or all(70.0 / w <= pct <= 130.0 / w for _, pct in shares)
        receivers = "per-datagram receivers" if a.webrtc_no_gro else "GRO receivers"
        slices = f"{a.webrtc_slices} slice{'s' if a.webrtc_slices > 1 else ''} per frame"
        rows.append((f"WebRTC fan-out, {n} WHEP viewers of 600 kb/s ({slices}), {w} workers, {receivers}",
                     f"CPU {cpu:.1f}% ({per:.4f}%/viewer = {100 / per if per else 0:,.0f} viewers/core), "
                     f"source {src_kbps:.0f} kb/s, "
                     f"per worker " + ", ".join(f"{name} {pct:.0f}%" for name, pct in shares) + " of the server's, "
                     f"connected {r.get('connected')}/{n}, packets {r.get('packets')}, lost {r.get('lost')}, "
                     f"min ratio {r.get('ratio', {}).get('min')}",
                     ">= 2500 viewers/core, all connect, >= 99% packets, each worker 35-65% (2 workers)",
                     per > 0 and 100 / per >= 2500 and rc == 0 and r.get("connected") == n and spread))
        kernel_floor(a, rows[-1][0], "webrtc", n, duration, cpu, ["--slices", str(a.webrtc_slices)])


def row_ingest(a, rows):
    counts = [5] if a.quick else [100, 500, 1000]
    duration = 3 if a.quick else 15
    for n in counts:
        with Server(a.binary) as s:
            def run():
                pub = rtsp_publisher(a, f"rtsp://127.0.0.1:{s.rtsp}/pub", 1_000_000, duration, n)
                time.sleep(min(duration - 1, 2 + n * 0.005))
                status, body = http_get(s.http, "/api/v1/streams")
                streams = json.loads(body)["items"] if status == 200 else []
                ready = sum(1 for x in streams if x.get("state") == "ready")
                out, _ = pub.communicate(timeout=duration + 120)
                return ready, json.loads(out.strip().splitlines()[-1]) if out.strip() else {}
            (ready, r), cpu, rss0, rss1 = measured(s, run)
        rows.append((f"ingest, {n} RTSP publishers of 1 Mb/s",
                     f"ready {ready}/{n}, CPU {cpu:.1f}% ({cpu / n:.4f}%/publisher), RSS {rss1 / 1024:.1f} MiB",
                     "all ready; >= 1000 streams", ready == n))


def rtmp_clients(a, url, mode, n, duration):
    return [os.path.join(a.build, "bench", "rtmp_clients"), "--url", url, "--mode", mode, "--clients", str(n),
            "--duration", str(duration), "--threads", "2"]


def row_rtmp(a, rows):
    """RTMP ingest (N publishers of the 320x240 clip, ~200 kb/s at 30 fps) and RTMP fan-out (N players of one
    such stream), server CPU per publisher / per player, next to the RTSP rows."""
    n = 5 if a.quick else 200
    duration = 3 if a.quick else 15
    with Server(a.binary) as s:
        (rc, r), cpu, rss0, rss1 = measured(s, lambda: tool_json(
            rtmp_clients(a, f"rtmp://127.0.0.1:{s.rtmp}/live/pub", "publish", n, duration), duration + 120))
    rows.append((f"ingest, {n} RTMP publishers (H.264 320x240, 30 fps)",
                 f"started {r.get('started')}/{n}, CPU {cpu:.1f}% ({cpu / n:.4f}%/publisher), "
                 f"RSS {rss1 / 1024:.1f} MiB, errors {r.get('errors')}",
                 "all publish", rc == 0 and r.get("started") == n))
    with Server(a.binary) as s:
        pub = subprocess.Popen(rtmp_clients(a, f"rtmp://127.0.0.1:{s.rtmp}/live/fanout", "publish", 1, duration + 30)
                               + ["--json"], stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                               start_new_session=True)
        try:
            if not s.wait_ready("fanout"):
                raise RuntimeError("RTMP publisher stream never ready")
            time.sleep(1)
            (rc, r), cpu, rss0, rss1 = measured(s, lambda: tool_json(
                rtmp_clients(a, f"rtmp://127.0.0.1:{s.rtmp}/live/fanout", "play", n, duration), duration + 120))
        finally:
            os.killpg(pub.pid, signal.SIGTERM)
            pub.wait()
    per = cpu / n
    rows.append((f"RTMP fan-out, {n} players of one ~200 kb/s stream",
                 f"CPU {cpu:.1f}% ({per:.4f}%/player), RSS +{(rss1 - rss0) / n:.1f} KiB/player, "
                 f"started {r.get('started')}/{n}, min {r.get('kbps', {}).get('min')} kb/s, errors {r.get('errors')}",
                 "all play", rc == 0 and r.get("started") == n))


def record_bytes(s):
    """Sum of streamgate_record_bytes_written_total over the server's recordings."""
    status, body = http_get(s.http, "/metrics")
    return sum(int(v) for v in re.findall(r"^streamgate_record_bytes_written_total\{[^}]*\} (\d+)$", body, re.M))


def row_record(a, rows):
    """Issue #17: N streams of 2 Mb/s (rtsp_publishers) recorded at once to fMP4 segments, against the same load
    without recording: server CPU, write throughput, and the forwarding latency of 10 live RTSP readers of one of
    the streams (rtsp_readers, send time carried by the publisher). Files go to a temporary folder on the disk of
    TMPDIR (set TMPDIR to measure another volume)."""
    n = 5 if a.quick else a.record_streams
    duration = 4 if a.quick else 20
    readers = 2 if a.quick else 10
    runs = {}
    for recording in (False, True):
        rec_dir = tempfile.mkdtemp(prefix="sg_bench_rec_")
        config = (f"stream_defaults:\n  record: {'true' if recording else 'false'}\n"
                  f"  record_path: {rec_dir}/%stream/%Y-%m-%d_%H-%M-%S-%f\n  record_segment: 60s\n"
                  f"limits: {{ max_streams: {n + 10} }}\n")
        try:
            with Server(a.binary, config) as s:
                pub = rtsp_publisher(a, f"rtsp://127.0.0.1:{s.rtsp}/rec", 2_000_000, duration + 60, n)
                try:
                    deadline = time.time() + 30 + n * 0.1
                    while time.time() < deadline:
                        status, body = http_get(s.http, "/api/v1/streams")
                        items = json.loads(body)["items"] if status == 200 else []
                        if sum(1 for x in items if x.get("state") == "ready") >= n:
                            break
                        time.sleep(0.2)
                    else:
                        raise RuntimeError("publishers not ready")
                    time.sleep(2)
                    b0, t0 = record_bytes(s), time.time()
                    path = "rec0" if n > 1 else "rec"
                    (rc, r), cpu, _, _ = measured(s, lambda: tool_json(
                        [os.path.join(a.build, "bench", "rtsp_readers"), "--url", f"rtsp://127.0.0.1:{s.rtsp}/{path}",
                         "--readers", str(readers), "--duration", str(duration), "--min-packets", "10"],
                        duration + 120))
                    b1, t1 = record_bytes(s), time.time()
                finally:
                    os.killpg(pub.pid, signal.SIGTERM)
                    pub.wait()
        finally:
            shutil.rmtree(rec_dir, ignore_errors=True)
        runs[recording] = (cpu, (b1 - b0) * 8 / 1e6 / max(t1 - t0, 1e-6), r.get("latency_us") or {}, rc)
    (cpu0, _, lat0, rc0), (cpu1, mbps, lat1, rc1) = runs[False], runs[True]
    expected = n * 2.0  # Mb/s published
    p99 = lambda lat: lat.get("p99", 0) / 1000
    rows.append((f"recording, {n} streams of 2 Mb/s to fMP4 (vs the same load unrecorded)",
                 f"CPU {cpu1:.1f}% (unrecorded {cpu0:.1f}%, {(cpu1 - cpu0) / n:.3f}%/stream), written "
                 f"{mbps:.1f} Mb/s of {expected:.0f} Mb/s in, {readers} live readers' latency p50 "
                 f"{lat1.get('p50', 0) / 1000:.3f} ms p99 {p99(lat1):.3f} ms (unrecorded p50 "
                 f"{lat0.get('p50', 0) / 1000:.3f} ms p99 {p99(lat0):.3f} ms)",
                 "writes keep up; latency unchanged within noise",
                 rc0 == 0 and rc1 == 0 and mbps >= 0.9 * expected and p99(lat1) <= max(2 * p99(lat0), p99(lat0) + 1)))


def row_ws(a, rows):
    users, ramp = (20, 1) if a.quick else (1000, 60)
    config = "streams:\n  live:\n    source: >-\n      " + exec_source(320, 240, 300, audio=True) + "\n"
    with Server(a.binary, config + "webrtc: { max_sessions: 5000 }\n") as s:
        if not s.wait_ready("live"):
            raise RuntimeError("exec source never ready")
        rc, r = tool_json([os.path.join(a.build, "bench", "ws_signaling"), "--url", f"ws://127.0.0.1:{s.http}/ws/live",
                           "--users", str(users), "--ramp", str(ramp)], ramp + 120)
    rows.append((f"signaling: {users} WebSocket users over {ramp} s",
                 f"answered {r.get('answered')}/{users}, answer p50 {r.get('answer_ms', {}).get('p50', 0):.2f} ms,"
                 f" p99 {r.get('answer_ms', {}).get('p99', 0):.2f} ms", "all answered, p99 <= 10 ms",
                 rc == 0 and r.get("answer_ms", {}).get("p99", 1e9) <= 10))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="tiny N, seconds per row (CI smoke)")
    ap.add_argument("--build", default=os.path.join(ROOT, "build", "release"))
    ap.add_argument("--binary", default="", help="the server to measure (default: BUILD/streamgate); the tools and "
                    "the kernel floor still come from --build, e.g. to compare two commits interleaved")
    ap.add_argument("--only", default="", help="comma-separated rows: startup,rest,rtsp,webrtc,ingest,rtmp,ws,record")
    ap.add_argument("--json", default="", help="also write the rows to this file")
    ap.add_argument("--rtsp-readers", default="", help="comma-separated reader counts of the rtsp rows "
                    "(default 100,500,1000,2000)")
    ap.add_argument("--webrtc-viewers", default="100,500,1000,2000",
                    help="comma-separated viewer counts of the WebRTC fan-out row")
    ap.add_argument("--record-streams", type=int, default=100, help="streams recorded at once in the record row")
    ap.add_argument("--workers", type=int, default=2, help="server worker threads for the WebRTC fan-out row")
    ap.add_argument("--webrtc-no-gro", action="store_true",
                    help="WebRTC viewers (and the floor's sinks) take datagrams one by one instead of with UDP GRO")
    ap.add_argument("--webrtc-slices", type=int, default=1,
                    help="slices (NAL units) per frame of the WebRTC row's source, mirrored by its kernel floor "
                         "(the rows before 2026-12-03 had x264's sliced threads: 2 per frame on 2 cores)")
    a = ap.parse_args()
    if not 1 <= a.webrtc_slices <= 16:
        ap.error("--webrtc-slices: 1 to 16")
    a.binary = a.binary or os.path.join(a.build, "streamgate")
    only = set(filter(None, a.only.split(",")))
    rows, latency_rows, failures = [], [], []
    steps = [("startup", lambda: row_startup(a, rows)), ("rest", lambda: row_rest(a, rows)),
             ("rtsp", lambda: row_rtsp_fanout(a, rows, latency_rows)), ("webrtc", lambda: row_webrtc_fanout(a, rows)),
             ("ingest", lambda: row_ingest(a, rows)), ("rtmp", lambda: row_rtmp(a, rows)),
             ("ws", lambda: row_ws(a, rows)),
             ("record", lambda: row_record(a, rows))]
    steal0 = cpu_times()
    for name, step in steps:
        if only and name not in only:
            continue
        print(f"[bench] {name} ...", file=sys.stderr, flush=True)
        try:
            step()
        except Exception as e:  # a broken tool is a failure of the run, reported with the row's name
            failures.append(f"{name}: {e}")
            print(f"[bench] {name} FAILED: {e}", file=sys.stderr, flush=True)
    rows += latency_rows
    uname = os.uname()
    cpu = next((l.split(":", 1)[1].strip() for l in open("/proc/cpuinfo") if l.startswith("model name")), "?")
    # A virtual machine's CPU taken by the host ("steal" in /proc/stat) slows everything measured here, latencies
    # most: a run with more than a few percent of it says more about the host than about the server.
    steal1 = cpu_times()
    total = sum(steal1) - sum(steal0)
    steal = 100.0 * (steal1[7] - steal0[7]) / total if total > 0 and len(steal1) > 7 else 0.0
    print(f"streamgate bench, {time.strftime('%Y-%m-%d')}, {os.cpu_count()} x {cpu}, {uname.sysname} {uname.release}"
          + (" (quick)" if a.quick else "") + f", host steal {steal:.1f} % of CPU time")
    print("| measure | result | vs kernel floor | target | met |")
    print("|---|---|---|---|---|")
    for name, result, target, met in rows:
        print(f"| {name} | {result} | {FLOOR.get(name, '')} | {target} | {'yes' if met else 'no'} |")
    if a.json:
        with open(a.json, "w") as f:
            json.dump([dict(zip(("measure", "result", "target", "met"), r), kernel_floor=FLOOR.get(r[0], ""))
                       for r in rows], f, indent=1)
    for f in failures:
        print("FAILED: " + f)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
