#!/usr/bin/python3
"""Start-to-ready time and idle RSS of the streamgate binary (median of several runs).

Start to ready: from just before exec to the first successful HTTP response (GET /healthz), polled in a
tight loop. Idle RSS: VmRSS of the process after it has been idle for --idle seconds.

Usage: bench/startup.py [--binary build/release/streamgate] [--runs 20] [--idle 5] [--workers N]
"""
import argparse
import os
import socket
import statistics
import subprocess
import sys
import time


def free_port():
    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return port


def healthz(port):
    try:
        with socket.create_connection(("127.0.0.1", port), timeout=0.5) as c:
            c.sendall(b"GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            return c.recv(64).startswith(b"HTTP/1.1 200")
    except OSError:
        return False


def rss_kib(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


def probe_ready_ms(probe, binary, workers):
    """Start-to-ready measured by the C++ probe (vfork+exec, tight connect loop): no Python spawn overhead."""
    port = free_port()
    args = [probe, str(port), binary, "--http", f"127.0.0.1:{port}", "--rtsp", "127.0.0.1:0", "--webrtc-udp",
            "127.0.0.1:0", "--log-level", "warn"]
    if workers is not None:
        args += ["--workers", str(workers)]
    out = subprocess.run(args, capture_output=True, text=True, timeout=20)
    if out.returncode != 0:
        raise RuntimeError("startup_probe failed: " + out.stderr)
    return float(out.stdout.strip())


def one_run(binary, workers, idle):
    port = free_port()
    args = [binary, "--http", f"127.0.0.1:{port}", "--rtsp", "127.0.0.1:0", "--webrtc-udp", "127.0.0.1:0",
            "--log-level", "warn"]
    if workers is not None:
        args += ["--workers", str(workers)]
    t0 = time.perf_counter()
    proc = subprocess.Popen(args, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    try:
        while not healthz(port):
            if proc.poll() is not None:
                raise RuntimeError(f"server exited with {proc.returncode}")
            if time.perf_counter() - t0 > 10:
                raise RuntimeError("server not ready after 10 s")
        ready_ms = (time.perf_counter() - t0) * 1000
        rss = None
        if idle > 0:
            time.sleep(idle)
            rss = rss_kib(proc.pid)
        return ready_ms, rss
    finally:
        proc.terminate()
        proc.wait(5)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--binary", default=os.path.join(os.path.dirname(__file__), "..", "build", "release", "streamgate"))
    ap.add_argument("--runs", type=int, default=20)
    ap.add_argument("--idle", type=float, default=5.0, help="seconds idle before reading RSS (0 = skip)")
    ap.add_argument("--rss-runs", type=int, default=3, help="runs that also measure idle RSS")
    ap.add_argument("--workers", type=int, default=None)
    a = ap.parse_args()
    ready = []
    rss = []
    probe = os.path.join(os.path.dirname(os.path.abspath(a.binary)), "bench", "startup_probe")
    for i in range(a.runs):
        if os.path.exists(probe):
            r = probe_ready_ms(probe, a.binary, a.workers)
        else:
            r, _ = one_run(a.binary, a.workers, 0)
        ready.append(r)
        print(f"run {i + 1}/{a.runs}: ready {r:.2f} ms", file=sys.stderr)
    for i in range(a.rss_runs if a.idle > 0 else 0):
        _, m = one_run(a.binary, a.workers, a.idle)
        rss.append(m)
        print(f"rss run {i + 1}/{a.rss_runs}: idle RSS {m / 1024:.2f} MiB", file=sys.stderr)
    print(f"start_to_ready_ms_median {statistics.median(ready):.2f}")
    print(f"start_to_ready_ms_min {min(ready):.2f}")
    if rss:
        print(f"idle_rss_mib_median {statistics.median(rss) / 1024:.2f}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
