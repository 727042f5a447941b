"""Issue and call over HTTP against a real `layso run` process (measures, never asserts).

Run: .venv/bin/python bench/issue_call.py [--tickets 2000] [--database-url postgresql://...]

It starts its own server on 127.0.0.1 with the demo center in a temporary data directory,
measures the disk's fsync time there (SQLite with synchronous=FULL waits for one per commit),
issues tickets with 1 and then 8 concurrent kiosks (each its own device token and keep-alive
session), then drains the queue with 5 counters (each its own officer), and prints the figures.
"""

from __future__ import annotations

import argparse
import http.client
import json
import os
import platform
import statistics
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import create_engine, text  # noqa: E402

from tests.live import LiveServer  # noqa: E402

SERVICES = ["civil-status", "certification", "land", "social", "business", "online-help"]


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of values, in the values' unit."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    k = max(0, min(len(ordered) - 1, round(p / 100 * len(ordered) + 0.5) - 1))
    return ordered[k]


def summary(ms: list[float]) -> str:
    """Median, p95, p99 and max of latencies in ms."""
    return (f"median {statistics.median(ms):.1f} ms, p95 {pct(ms, 95):.1f} ms, "
            f"p99 {pct(ms, 99):.1f} ms, max {max(ms):.1f} ms")


def fsync_times(directory: Path, n: int = 200, grow: bool = True) -> list[float]:
    """Milliseconds per 4 KiB write + fsync in the directory: what one SQLite commit waits for.

    `grow` appends (as the WAL does, so the file system also commits the new size); otherwise
    the same block is rewritten in place.
    """
    path = directory / "fsync-probe.bin"
    out = []
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        for i in range(n):
            if not grow:
                os.lseek(fd, 0, os.SEEK_SET)
            os.write(fd, i.to_bytes(4, "little") * 1024)
            t0 = time.perf_counter()
            os.fsync(fd)
            out.append((time.perf_counter() - t0) * 1000)
    finally:
        os.close(fd)
        path.unlink()
    return out


def rss_mb(pid: int) -> float:
    """Resident memory of a process and its children (the gunicorn worker), in MB."""
    total = 0
    pids = [pid]
    for entry in Path("/proc").iterdir():
        if entry.name.isdigit():
            try:
                fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
            except OSError:
                continue
            if int(fields[1]) == pid:
                pids.append(int(entry.name))
    for p in pids:
        try:
            for line in Path(f"/proc/{p}/status").read_text().splitlines():
                if line.startswith("VmRSS:"):
                    total += int(line.split()[1])
        except OSError:
            pass
    return total / 1024


class Http:
    """A keep-alive JSON client on http.client: requests costs the box ~1 ms of CPU a call,
    which the bench would otherwise take from the server it measures on the same two cores."""

    def __init__(self, base_url: str, token: str) -> None:
        host, port = base_url.removeprefix("http://").split(":")
        self.conn = http.client.HTTPConnection(host, int(port), timeout=30)
        self.headers = {"Authorization": f"Bearer {token}", "Content-Type": "application/json"}

    def call(self, method: str, path: str, body: Any = None) -> tuple[int, Any]:
        """One request; returns (status, parsed JSON or None)."""
        data = json.dumps(body).encode() if body is not None else b""
        self.conn.request(method, "/api/v1" + path, body=data, headers=self.headers)
        resp = self.conn.getresponse()
        raw = resp.read()
        return resp.status, (json.loads(raw) if raw else None)


def issue_run(server: LiveServer, tokens: list[str], total: int,
              urls: list[str] | None = None) -> dict[str, Any]:
    """Issue `total` tickets split over the kiosks, each in its own thread and session."""
    per = total // len(tokens)
    latencies: list[list[float]] = [[] for _ in tokens]
    labels: list[list[str]] = [[] for _ in tokens]
    errors: Counter[int] = Counter()
    barrier = threading.Barrier(len(tokens) + 1)

    def kiosk(i: int) -> None:
        s = Http((urls or [server.url])[i % len(urls or [server.url])], tokens[i])
        s.call("GET", "/health")  # open the keep-alive connection first
        barrier.wait()
        for k in range(per):
            body = {"service": SERVICES[(i + k) % len(SERVICES)]}
            t0 = time.perf_counter()
            status, answer = s.call("POST", "/tickets", body)
            latencies[i].append((time.perf_counter() - t0) * 1000)
            if status == 201:
                labels[i].append(answer["label"])
            else:
                errors[status] += 1

    threads = [threading.Thread(target=kiosk, args=(i,)) for i in range(len(tokens))]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    elapsed = time.perf_counter() - t0
    all_labels = [x for part in labels for x in part]
    return {"elapsed": elapsed, "latencies": [x for part in latencies for x in part],
            "labels": all_labels, "errors": dict(errors)}


def call_run(server: LiveServer, officers: list[str], max_calls: int) -> dict[str, Any]:
    """Five counters open, then call-next / start / complete until nothing waits."""
    call_ms: list[float] = []
    called: list[str] = []
    lock = threading.Lock()
    barrier = threading.Barrier(len(officers) + 1)
    per = max_calls // len(officers)

    def counter(i: int) -> None:
        n = i + 1
        s = Http(server.url, officers[i])
        base = f"/counters/{n}"
        assert s.call("POST", base + "/open")[0] == 200
        barrier.wait()
        mine: list[float] = []
        got: list[str] = []
        for _ in range(per):
            t0 = time.perf_counter()
            status, answer = s.call("POST", base + "/call-next")
            mine.append((time.perf_counter() - t0) * 1000)
            if status == 204:
                break
            assert status == 200, answer
            got.append(answer["label"])
            assert s.call("POST", base + "/start")[0] == 200
            assert s.call("POST", base + "/complete", {"outcome": "done"})[0] == 200
        with lock:
            call_ms.extend(mine)
            called.extend(got)

    threads = [threading.Thread(target=counter, args=(i,)) for i in range(len(officers))]
    for t in threads:
        t.start()
    barrier.wait()
    t0 = time.perf_counter()
    for t in threads:
        t.join()
    return {"elapsed": time.perf_counter() - t0, "latencies": call_ms, "called": called}


def reference_rate(requests: int = 2000, clients: int = 8) -> float:
    """Requests/s of a Flask hello-world under `layso run`'s gunicorn settings: the machine's
    speed for this kind of work, with none of our code in it."""
    from tests.live import free_port

    port = free_port()
    proc = subprocess.Popen(
        [sys.executable, "-m", "gunicorn", "--chdir", str(ROOT / "bench"), "-k", "gthread",
         "--threads", "600", "-w", "1", "-b", f"127.0.0.1:{port}", "--log-level", "warning",
         "reference_app:app"])
    try:
        deadline = time.monotonic() + 30
        while True:
            try:
                Http(f"http://127.0.0.1:{port}", "-").call("POST", "/reference")
                break
            except OSError:
                if time.monotonic() > deadline:
                    raise
                time.sleep(0.1)

        def client() -> None:
            s = Http(f"http://127.0.0.1:{port}", "-")
            for _ in range(requests // clients):
                s.call("POST", "/reference", {})

        threads = [threading.Thread(target=client) for _ in range(clients)]
        t0 = time.perf_counter()
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        return requests // clients * clients / (time.perf_counter() - t0)
    finally:
        proc.kill()
        proc.wait()


def pg_schema(base_url: str) -> tuple[str, Any]:
    """A fresh schema on the PostgreSQL server, and a function that drops it."""
    schema = "bench_" + uuid.uuid4().hex[:10]
    admin = create_engine(base_url.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))

    def drop() -> None:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
        admin.dispose()

    sep = "&" if "?" in base_url else "?"
    return f"{base_url}{sep}options=-csearch_path%3D{schema}", drop


def machine() -> str:
    """nproc, CPU model, memory and Python version."""
    cpu = next((line.split(":", 1)[1].strip() for line in
                Path("/proc/cpuinfo").read_text().splitlines() if line.startswith("model name")),
               platform.processor())
    mem = next(int(line.split()[1]) for line in Path("/proc/meminfo").read_text().splitlines()
               if line.startswith("MemTotal"))
    return (f"{os.cpu_count()} CPUs ({cpu}), {mem / 1024 / 1024:.1f} GiB RAM, "
            f"Python {platform.python_version()}, {platform.system()} {platform.release()}")


def main() -> int:
    """Run the benchmark and print the figures."""
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--tickets", type=int, default=2000, help="tickets per issuing run")
    p.add_argument("--database-url", help="PostgreSQL URL (a fresh schema is made and dropped)")
    p.add_argument("--data-dir", help="data directory (default: a new temporary one)")
    p.add_argument("--processes", type=int, default=1,
                   help="server processes on one database (more than 1 needs --message-queue)")
    p.add_argument("--message-queue", help="e.g. redis://127.0.0.1:6379/15, for --processes > 1")
    args = p.parse_args()

    tmp = tempfile.TemporaryDirectory(prefix="layso-bench-")
    data_dir = Path(args.data_dir or tmp.name)
    data_dir.mkdir(parents=True, exist_ok=True)
    env = {"LAYSO_KIOSK_RATE_PER_MINUTE": "1000000"}  # the bench kiosks issue faster than people
    if args.processes > 1:
        if not args.message_queue:
            p.error("--processes > 1 needs --message-queue")
        env["LAYSO_MESSAGE_QUEUE"] = args.message_queue
    drop = None
    if args.database_url:
        url, drop = pg_schema(args.database_url)
        env["LAYSO_DATABASE_URL"] = url
    print(f"machine: {machine()}")
    print(f"machine reference: a Flask hello-world under the same gunicorn settings answers "
          f"{reference_rate():.0f} requests/s to 8 keep-alive clients")
    print(f"database: {'PostgreSQL' if args.database_url else 'SQLite (WAL, synchronous=FULL)'}")
    for grow in (False, True):
        fs = fsync_times(data_dir, grow=grow)
        print(f"disk fsync in the data dir, 4 KiB {'appended' if grow else 'in place'} "
              f"({len(fs)}×): median {statistics.median(fs):.2f} ms, p99 {pct(fs, 99):.2f} ms")

    server = LiveServer(data_dir / "live", env=env)
    server.init()
    server.start()
    extra: list[LiveServer] = []
    for _ in range(args.processes - 1):  # the documented scale-out: same database, Redis queue
        extra.append(LiveServer(data_dir / "live", env=env).start())
    urls = [server.url] + [x.url for x in extra]
    if extra:
        print(f"server processes: {len(urls)} on one database, message queue {args.message_queue}")
    try:
        kiosks = [server.device(f"Bench kiosk {i}", "kiosk") for i in range(8)]
        officers = [server.user(f"bench{i}", "officer") for i in range(1, 6)]
        print(f"server pid {server.proc.pid}, RSS after start {rss_mb(server.proc.pid):.0f} MB")
        seen: list[str] = []
        for n_kiosks in (1, 8):
            res = issue_run(server, kiosks[:n_kiosks], args.tickets, urls)
            seen += res["labels"]
            dup = len(res["labels"]) - len(set(res["labels"]))
            rate = len(res["labels"]) / res["elapsed"]
            print(f"issue, {n_kiosks} kiosk(s): {len(res['labels'])} tickets in "
                  f"{res['elapsed']:.2f} s = {rate:.0f} tickets/s; {summary(res['latencies'])}; "
                  f"duplicates {dup}; errors {res['errors'] or 'none'}")
        print(f"all issued: {len(seen)}, duplicate labels {len(seen) - len(set(seen))}")
        print(f"server RSS after issuing {rss_mb(server.proc.pid):.0f} MB")
        res = call_run(server, officers, max_calls=min(len(seen), 1000))
        dup = len(res["called"]) - len(set(res["called"]))
        print(f"call-next, 5 counters: {len(res['latencies'])} calls "
              f"({len(res['called'])} tickets served in {res['elapsed']:.2f} s); "
              f"{summary(res['latencies'])}; tickets called twice {dup}")
        print(f"server RSS at the end {rss_mb(server.proc.pid):.0f} MB")
    finally:
        server.kill()
        for x in extra:
            x.kill()
        if drop is not None:
            drop()
        tmp.cleanup()
    return 0


if __name__ == "__main__":
    sys.exit(main())
