"""Board latency: time from an official's call to the event on boards and phones, and server memory.

    .venv/bin/python bench/board_latency.py         # threading (`layso run`), 1/100/500
    .venv/bin/python bench/board_latency.py --mode both --calls 20
    .venv/bin/python bench/board_latency.py --clients 500 --mode gevent

For each client count N it starts a fresh server on 127.0.0.1 with the demo center, connects
N sockets (half boards on the `board` channel, half phones on the `ticket` channel of waiting
tickets; one board when N is 1), then makes `--calls` calls at counter 3. A board's latency is
from just before `POST /counters/3/call-next` to its `ticket.called`; a phone's is to the
`ticket.updated` telling it that one fewer person is ahead. Server memory is the resident set
of the server's processes (gunicorn master + worker) with every client connected.

The clients are one asyncio loop speaking Engine.IO 4 / Socket.IO 5 over a plain WebSocket
(standard library only), so 500 of them cost the measuring side little. It prints figures and
never asserts them. `--mode gevent` runs the same app under gunicorn's gevent worker with
Flask-SocketIO in gevent mode (needs `pip install gevent`; used only to compare).
"""

from __future__ import annotations

import argparse
import asyncio
import base64
import json
import os
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"


# -- a minimal Socket.IO client over asyncio ---------------------------------------------------

class Sock:
    """One Socket.IO connection (WebSocket transport only) that timestamps what it receives."""

    def __init__(self, kind: str, auth: dict[str, Any]) -> None:
        self.kind = kind
        self.auth = auth
        self.got: list[tuple[float, str, str]] = []  # (perf_counter, event name, raw message)
        self.connected = asyncio.Event()
        self.writer: asyncio.StreamWriter | None = None

    async def run(self, port: int) -> None:
        """Connect, join with `auth`, answer pings and record every event until closed."""
        reader, writer = await asyncio.open_connection(HOST, port)
        self.writer = writer
        key = base64.b64encode(os.urandom(16)).decode()
        writer.write((f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
                      f"Host: {HOST}:{port}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                      f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n").encode())
        head = await reader.readuntil(b"\r\n\r\n")
        if b" 101 " not in head.split(b"\r\n", 1)[0]:
            raise ConnectionError(head.decode(errors="replace"))
        try:
            while True:
                msg = await self._read(reader)
                if msg is None:
                    return
                if msg.startswith("0{"):
                    self._send("40" + json.dumps(self.auth))
                elif msg == "2":
                    self._send("3")
                elif msg.startswith("40"):
                    self.connected.set()
                elif msg.startswith("44"):
                    raise ConnectionError(f"refused: {msg}")
                elif msg.startswith("42"):
                    name = msg[4:msg.index('"', 4)]
                    self.got.append((time.perf_counter(), name, msg))
        except (asyncio.IncompleteReadError, ConnectionError, OSError):
            return

    async def _read(self, reader: asyncio.StreamReader) -> str | None:
        data = b""
        while True:
            b0, b1 = await reader.readexactly(2)
            n = b1 & 0x7F
            if n == 126:
                n = int.from_bytes(await reader.readexactly(2), "big")
            elif n == 127:
                n = int.from_bytes(await reader.readexactly(8), "big")
            payload = await reader.readexactly(n)
            opcode = b0 & 0x0F
            if opcode == 8:
                return None
            if opcode == 9:
                self._frame(payload, 10)
                continue
            if opcode == 10:
                continue
            data += payload
            if b0 & 0x80:
                return data.decode()

    def _frame(self, payload: bytes, opcode: int) -> None:
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            head = bytes([0x80 | opcode, 0x80 | n])
        elif n < 65536:
            head = bytes([0x80 | opcode, 0x80 | 126]) + n.to_bytes(2, "big")
        else:
            head = bytes([0x80 | opcode, 0x80 | 127]) + n.to_bytes(8, "big")
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        assert self.writer is not None
        self.writer.write(head + mask + body)

    def _send(self, text: str) -> None:
        self._frame(text.encode(), 1)

    def close(self) -> None:
        """Drop the connection."""
        if self.writer is not None:
            self.writer.close()


# -- the server under test ---------------------------------------------------------------------

def free_port() -> int:
    """An unused TCP port on 127.0.0.1."""
    import socket

    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


class Server:
    """A fresh demo center served by `layso run` (threading) or the gevent variant."""

    def __init__(self, mode: str) -> None:
        self.mode = mode
        self.dir = Path(tempfile.mkdtemp(prefix="layso-bench-"))
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.env = {**os.environ, "LAYSO_DATA_DIR": str(self.dir), "LAYSO_PUBLIC_URL": self.url,
                    "LAYSO_MESSAGE_QUEUE": ""}
        self.env.pop("LAYSO_MESSAGE_QUEUE")
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Initialise the demo center and start serving; returns once health answers."""
        subprocess.run([sys.executable, "-m", "layso.cli", "init", "--demo"], env=self.env,
                       check=True, capture_output=True)
        if self.mode == "threading":
            cmd = [sys.executable, "-m", "layso.cli", "run", "--port", str(self.port)]
        else:
            cmd = [sys.executable, "-c", GEVENT_LAUNCHER, str(self.port)]
        log = open(self.dir / "server.log", "wb")  # noqa: SIM115 - lives with the process
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True, cwd=ROOT)
        for _ in range(300):
            try:
                with urllib.request.urlopen(self.url + "/api/v1/health", timeout=1):
                    return
            except OSError:
                time.sleep(0.1)
        raise RuntimeError((self.dir / "server.log").read_text()[-2000:])

    def memory(self) -> tuple[float, int]:
        """Resident MB and thread count of every process in the server's session."""
        assert self.proc is not None
        rss_kb, threads = 0, 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[3]) != self.proc.pid:  # process group id
                    continue
                status = (stat.parent / "status").read_text()
            except (OSError, IndexError, ValueError):
                continue
            for line in status.splitlines():
                if line.startswith("VmRSS:"):
                    rss_kb += int(line.split()[1])
                elif line.startswith("Threads:"):
                    threads += int(line.split()[1])
        return rss_kb / 1024, threads

    def api(self, method: str, path: str, token: str | None = None,
            body: dict[str, Any] | None = None) -> Any:
        """One API request; returns the decoded JSON (None for 204)."""
        req = urllib.request.Request(self.url + "/api/v1" + path, method=method,
                                     data=None if body is None else json.dumps(body).encode())
        req.add_header("Content-Type", "application/json")
        if token:
            req.add_header("Authorization", f"Bearer {token}")
        with urllib.request.urlopen(req, timeout=30) as r:
            raw = r.read()
        return json.loads(raw) if raw else None

    def stop(self) -> None:
        """Stop the server and remove its data."""
        if self.proc is not None:
            try:
                os.killpg(self.proc.pid, 15)
                self.proc.wait(timeout=10)
            except (ProcessLookupError, subprocess.TimeoutExpired):
                os.killpg(self.proc.pid, 9)
        shutil.rmtree(self.dir, ignore_errors=True)


# The same app under gunicorn's gevent worker, Flask-SocketIO in gevent mode (bench only):
# patched before anything else is imported, as gevent requires.
GEVENT_LAUNCHER = """
from gevent import monkey
monkey.patch_all()
import sys
import layso.realtime
from layso.server import _Server
layso.realtime.ASYNC_MODE = "gevent"
_Server({"bind": "127.0.0.1:" + sys.argv[1], "workers": 1, "worker_class": "gevent",
         "worker_connections": 4000, "timeout": 0, "graceful_timeout": 5,
         "accesslog": None, "errorlog": "-", "loglevel": "warning"}).run()
"""


# -- one measurement ---------------------------------------------------------------------------

def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank) of values, in ms."""
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered) + 0.5) - 1))]


def fmt(values: list[float]) -> str:
    """p50 / p95 / p99 / max in ms."""
    if not values:
        return "-"
    return (f"p50 {pct(values, 50):6.1f}  p95 {pct(values, 95):6.1f}  "
            f"p99 {pct(values, 99):6.1f}  max {max(values):6.1f}  (n={len(values)})")


async def measure(server: Server, clients: int, calls: int) -> dict[str, Any]:
    """Connect the clients, make the calls, and collect latencies in ms."""
    loop = asyncio.get_running_loop()
    sup = server.api("POST", "/auth/login", body={"username": "lanhdao",
                                                   "password": "layso-demo"})["token"]
    boards_n = clients if clients == 1 else clients // 2
    phones_n = clients - boards_n
    for _ in range(calls):  # the tickets that will be called; nobody watches them
        server.api("POST", "/tickets", sup, {"service": "land"})  # staff: not rate limited
    phone_tokens = []
    for _ in range(phones_n):
        t = server.api("POST", "/tickets", sup, {"service": "land"})
        phone_tokens.append(t["status_url"].rsplit("/", 1)[1])
    server.api("POST", "/counters/3/open", sup)

    socks = [Sock("board", {"channel": "board"}) for _ in range(boards_n)]
    socks += [Sock("phone", {"channel": "ticket", "ticket": tok}) for tok in phone_tokens]
    tasks = []
    connect_started = time.perf_counter()
    for i in range(0, len(socks), 50):  # in batches, as boards and phones arrive over time
        batch = socks[i:i + 50]
        tasks += [asyncio.create_task(s.run(server.port)) for s in batch]
        await asyncio.wait_for(asyncio.gather(*(s.connected.wait() for s in batch)), 60)
    connect_s = time.perf_counter() - connect_started
    await asyncio.sleep(1.0)
    rss, threads = server.memory()

    board_ms: list[float] = []
    phone_ms: list[float] = []
    api_ms: list[float] = []
    for _ in range(calls):
        for s in socks:
            s.got.clear()
        t0 = time.perf_counter()
        called = await loop.run_in_executor(None, server.api, "POST", "/counters/3/call-next",
                                            sup)
        api_ms.append((time.perf_counter() - t0) * 1000)
        label = called["label"]
        deadline = time.perf_counter() + 10

        def board_done(s: Sock, label: str = label) -> float | None:
            for at, name, raw in s.got:
                if name == "ticket.called" and f'"label":"{label}"' in raw:
                    return at
            return None

        def phone_done(s: Sock) -> float | None:
            return next((at for at, name, _raw in s.got if name == "ticket.updated"), None)

        while time.perf_counter() < deadline:
            if all(board_done(s) for s in socks if s.kind == "board") and all(
                    phone_done(s) for s in socks if s.kind == "phone"):
                break
            await asyncio.sleep(0.005)
        for s in socks:
            at = board_done(s) if s.kind == "board" else phone_done(s)
            if at is not None:
                (board_ms if s.kind == "board" else phone_ms).append((at - t0) * 1000)
        await loop.run_in_executor(None, server.api, "POST", "/counters/3/start", sup)
        await loop.run_in_executor(None, server.api, "POST", "/counters/3/complete", sup,
                                   {"outcome": "done"})
        await asyncio.sleep(0.3)  # let the phones' updates of that step arrive
    missing_b = boards_n * calls - len(board_ms)
    missing_p = phones_n * calls - len(phone_ms)
    rss_after, threads_after = server.memory()
    for s in socks:
        s.close()
    for t in tasks:
        t.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {"clients": clients, "boards": boards_n, "phones": phones_n, "board": board_ms,
            "phone": phone_ms, "api": api_ms, "rss": rss, "threads": threads,
            "rss_after": rss_after, "threads_after": threads_after, "connect_s": connect_s,
            "missing": (missing_b, missing_p)}


def run(mode: str, counts: list[int], calls: int) -> None:
    """Measure each client count on a fresh server."""
    print(f"\n== async mode: {mode} ({'layso run: gunicorn gthread' if mode == 'threading' else 'gunicorn gevent worker'}), "  # noqa: E501
          f"{calls} calls per row, {os.cpu_count()} CPUs ==")
    for n in counts:
        server = Server(mode)
        server.start()
        idle_rss, idle_threads = server.memory()
        try:
            r = asyncio.run(measure(server, n, calls))
        finally:
            server.stop()
        both = r["board"] + r["phone"]
        print(f"\n{n} clients ({r['boards']} boards, {r['phones']} phones), connected in "
              f"{r['connect_s']:.1f} s")
        print(f"  board  ticket.called   {fmt(r['board'])}")
        print(f"  phone  ticket.updated  {fmt(r['phone'])}")
        print(f"  all clients            {fmt(both)}")
        print(f"  call-next API answer   {fmt(r['api'])}")
        print(f"  server RSS {r['rss']:.0f} MB, {r['threads']} threads with the clients "
              f"connected ({idle_rss:.0f} MB, {idle_threads} threads idle; "
              f"{r['rss_after']:.0f} MB after the calls)")
        if any(r["missing"]):
            print(f"  MISSING: {r['missing'][0]} board and {r['missing'][1]} phone events "
                  "did not arrive within 10 s")


def main() -> None:
    """Parse the options and run."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", default="1,100,500", help="client counts, comma separated")
    ap.add_argument("--calls", type=int, default=30, help="calls per client count (max 200)")
    ap.add_argument("--mode", choices=("threading", "gevent", "both"), default="threading")
    args = ap.parse_args()
    counts = [max(1, min(int(c), 1000)) for c in args.clients.split(",")]
    calls = max(1, min(args.calls, 200))
    modes = ("threading", "gevent") if args.mode == "both" else (args.mode,)
    for mode in modes:
        run(mode, counts, calls)


if __name__ == "__main__":
    main()
