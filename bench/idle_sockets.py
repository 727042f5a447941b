"""Health and issue latency while N idle or one-byte sockets are open to `layso run`.

    .venv/bin/python bench/idle_sockets.py --sockets 16,100,600,1500 --workers gevent,gthread

For each N and server model (`gevent`: the plain `layso run`; `gthread`:
`LAYSO_WORKER=gthread` with `--threads` threads) it starts a fresh demo center on 127.0.0.1,
opens N sockets from this process (`idle`: connected, nothing sent; `one-byte`: the first byte
of a request line, then nothing), waits `--hold` seconds, then times `--requests` sequential
GET /api/v1/health and POST /api/v1/tickets (a supervisor's token: not rate limited). A
request that gets no answer within 10 s counts as failed; after 3 failures a row stops trying.
It prints figures and the `uptime` load; it never asserts them.
"""

from __future__ import annotations

import argparse
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

import requests  # noqa: E402

from tests.live import LiveServer  # noqa: E402


def uptime() -> str:
    """The load averages, as `uptime` prints them."""
    out = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout
    return out.strip().split("load average:")[-1].strip()


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank)."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def timed(fn: Any, n: int) -> tuple[list[float], int]:
    """Latencies in ms of n calls of fn, and how many failed (it stops after 3 failures)."""
    out, failed = [], 0
    for _ in range(n):
        if failed >= 3:
            break
        t0 = time.perf_counter()
        try:
            r = fn()
            if r.status_code >= 500:
                failed += 1
                continue
        except requests.RequestException:
            failed += 1
            continue
        out.append((time.perf_counter() - t0) * 1000)
    return out, failed


def row(kind: str, n: int, worker: str, threads: int, hold: float, count: int,
        base: Path) -> str:
    """One fresh server with n sockets of one kind open."""
    srv = LiveServer(base / f"{worker}-{kind}-{n}",
                     env={"LAYSO_WORKER": worker, "LAYSO_THREADS": str(threads)})
    srv.init()
    srv.start()
    socks = []
    try:
        sup = srv.login("lanhdao", "layso-demo")
        for _ in range(n):
            s = socket.create_connection(("127.0.0.1", srv.port), timeout=5)
            if kind == "one-byte":
                s.sendall(b"G")
            socks.append(s)
        time.sleep(hold)
        load = uptime()
        health, hf = timed(lambda: requests.get(srv.url + "/api/v1/health", timeout=10), count)
        issue, fi = timed(lambda: srv.api("POST", "/tickets", sup, json={"service": "land"}),
                          count)
        open_now = sum(1 for s in socks if _still_open(s))
        model = f"gthread, {threads} threads" if worker == "gthread" else "gevent"
        return (f"| {model} | {kind} | {n} | {pct(health, 50):.1f} / {pct(health, 99):.1f} "
                f"| {hf} | {pct(issue, 50):.1f} / {pct(issue, 99):.1f} | {fi} | {open_now} | "
                f"{load} |")
    finally:
        for s in socks:
            s.close()
        srv.kill()


def _still_open(s: socket.socket) -> bool:
    """Whether the server has kept this socket open (no EOF waiting on it)."""
    s.setblocking(False)
    try:
        return s.recv(1, socket.MSG_PEEK) != b""
    except BlockingIOError:
        return True
    except OSError:
        return False


def main() -> None:
    """Parse the options and run."""
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sockets", default="16,100,600")
    ap.add_argument("--workers", default="gevent,gthread", help="server models (LAYSO_WORKER)")
    ap.add_argument("--threads", type=int, default=600, help="LAYSO_THREADS (gthread)")
    ap.add_argument("--hold", type=float, default=8.0, help="seconds before measuring")
    ap.add_argument("--requests", type=int, default=20)
    args = ap.parse_args()
    import tempfile

    base = Path(tempfile.mkdtemp(prefix="layso-idle-"))
    print(f"load before: {uptime()}")
    print("| server | sockets | N | health p50 / p99 ms | health failed | issue p50 / p99 ms "
          "| issue failed | sockets still open | load |")
    print("|---|---|---|---|---|---|---|---|---|")
    for n in [min(int(x), 2000) for x in args.sockets.split(",")]:
        for worker in args.workers.split(","):
            for kind in ("idle", "one-byte"):
                print(row(kind, n, worker, args.threads, args.hold, min(args.requests, 200),
                          base), flush=True)


if __name__ == "__main__":
    main()
