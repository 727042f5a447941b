"""Login flood benchmark (measures, never asserts): the server's memory and a kiosk's issue
latency while phones on the waiting room's Wi-Fi post logins with random usernames.

A real `layso run` on 127.0.0.1; FLOODERS threads post wrong logins as fast as answers come
for SECONDS; one kiosk issues a ticket every 100 ms meanwhile. Printed: the server worker's
RSS (peak, sampled every 50 ms) before and during the flood, the answers the flood got, and
the kiosk's issue latency p50/p95/max, first with no flood (baseline).

Scenarios: `default` (every flooder behind one address, the default limits), `addresses`
(each attempt from a new address through a trusted proxy: the per-address limit never
triggers, only the bound on concurrent hashes holds memory).

Each scenario runs on both server models (`gevent`: the plain `layso run`; `gthread`:
`LAYSO_WORKER=gthread`), or on those named in WORKERS.

Run: .venv/bin/python bench/login_flood.py [FLOODERS] [SECONDS] [WORKERS, e.g. gevent,gthread]
"""

from __future__ import annotations

import os
import secrets
import statistics
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.live import LiveServer  # noqa: E402


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children, in MB (from /proc)."""
    total = 0
    pids = [pid]
    try:
        for task in os.listdir(f"/proc/{pid}/task"):
            with open(f"/proc/{pid}/task/{task}/children") as fh:
                pids += [int(p) for p in fh.read().split()]
    except OSError:
        pass
    for p in pids:
        try:
            with open(f"/proc/{p}/status") as fh:
                for line in fh:
                    if line.startswith("VmRSS:"):
                        total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


class Sampler(threading.Thread):
    """The peak RSS of the server while it runs."""

    def __init__(self, pid: int) -> None:
        super().__init__(daemon=True)
        self.pid, self.peak, self.stop = pid, 0.0, threading.Event()

    def run(self) -> None:
        while not self.stop.is_set():
            self.peak = max(self.peak, rss_mb(self.pid))
            time.sleep(0.05)


def kiosk_latencies(server: LiveServer, token: str, seconds: float) -> list[float]:
    """Issue one ticket every 100 ms for `seconds`; ms per issue."""
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {token}"
    out: list[float] = []
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        t0 = time.perf_counter()
        r = s.post(server.url + "/api/v1/tickets", json={"service": "civil-status"}, timeout=30)
        out.append((time.perf_counter() - t0) * 1000)
        if r.status_code != 201:
            print("  kiosk got", r.status_code, r.text[:100])
        time.sleep(max(0.0, 0.1 - out[-1] / 1000))
    return out


def flood(server: LiveServer, n: int, seconds: float, spread: bool) -> Counter[int]:
    """n threads posting wrong logins with random usernames for `seconds`."""
    answers: Counter[int] = Counter()
    lock = threading.Lock()
    end = time.monotonic() + seconds

    def one(i: int) -> None:
        s = requests.Session()
        k = 0
        while time.monotonic() < end:
            k += 1
            headers = {"X-Forwarded-For": f"10.{i}.{k // 250 % 250}.{k % 250 + 1}"} if spread \
                else {}
            try:
                r = s.post(server.url + "/api/v1/auth/login", headers=headers, timeout=30,
                           json={"username": secrets.token_hex(6), "password": "x" * 12})
                code = r.status_code
            except requests.RequestException:
                code = 0
            with lock:
                answers[code] += 1

    threads = [threading.Thread(target=one, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    return answers


def scenario(name: str, flooders: int, seconds: float, worker: str = "gevent") -> None:
    """One server, a baseline, then the flood."""
    with tempfile.TemporaryDirectory() as tmp:
        env = {"LAYSO_KIOSK_RATE_PER_MINUTE": "100000", "LAYSO_WORKER": worker}
        if name == "addresses":
            env["LAYSO_PROXY_HOPS"] = "1"
        server = LiveServer(Path(tmp) / "data", env=env)
        server.init()
        server.start()
        try:
            kiosk = server.device("Bench kiosk", "kiosk")
            assert server.proc is not None
            pid = server.proc.pid
            time.sleep(1)
            idle = rss_mb(pid)
            base = kiosk_latencies(server, kiosk, 3)
            sampler = Sampler(pid)
            sampler.start()
            result: dict[str, Counter[int]] = {}
            flooder = threading.Thread(
                target=lambda: result.setdefault("a", flood(server, flooders, seconds,
                                                            name == "addresses")))
            flooder.start()
            time.sleep(0.5)
            during = kiosk_latencies(server, kiosk, seconds - 1)
            flooder.join()
            sampler.stop.set()
            sampler.join()
            answers = result["a"]
            print(f"[{name}, {worker}] {flooders} flooders, {seconds:.0f} s: answers "
                  + ", ".join(f"{k}: {v}" for k, v in sorted(answers.items())))
            print(f"  server RSS: {idle:.0f} MB idle, peak {sampler.peak:.0f} MB during flood")
            for label, lat in (("no flood", base), ("flood", during)):
                print(f"  kiosk issue ({label}, n={len(lat)}): p50 {statistics.median(lat):.1f}"
                      f" ms, p95 {pct(lat, 95):.1f} ms, max {max(lat):.1f} ms")
        finally:
            server.kill()


def main() -> None:
    flooders = int(sys.argv[1]) if len(sys.argv) > 1 else 32
    seconds = float(sys.argv[2]) if len(sys.argv) > 2 else 10
    with open("/proc/loadavg") as fh:
        print("load average before:", " ".join(fh.read().split()[:3]))
    workers = sys.argv[3].split(",") if len(sys.argv) > 3 else ["gevent", "gthread"]
    for name in ("default", "addresses"):
        for worker in workers:
            scenario(name, flooders, seconds, worker)
    with open("/proc/loadavg") as fh:
        print("load average after:", " ".join(fh.read().split()[:3]))


if __name__ == "__main__":
    main()
