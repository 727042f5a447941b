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

class Sock(asyncio.Protocol):
    """One Socket.IO connection (WebSocket transport only) that timestamps what it receives.

    Bytes are timestamped when they reach this process and parsed later, in a quiet moment:
    500 clients parsing frames as they arrive would delay the clock readings of the others
    (and take CPU from the server on the same two cores), which is not the server's latency.
    """

    def __init__(self, kind: str, auth: dict[str, Any]) -> None:
        self.kind = kind
        self.auth = auth
        self.got: list[tuple[float, str, str]] = []  # (perf_counter, event name, raw message)
        self.connected = asyncio.Event()
        self.closed = asyncio.Event()
        self.transport: asyncio.Transport | None = None
        self.chunks: list[tuple[float, bytes]] = []
        self._buf = b""
        self._buf_at = 0.0
        self._text = b""
        self._upgraded = False

    async def run(self, port: int) -> None:
        """Connect, join with `auth`, answer pings and record every event until closed."""
        loop = asyncio.get_running_loop()
        await loop.create_connection(lambda: self, HOST, port)
        await self.closed.wait()

    # asyncio.Protocol
    def connection_made(self, transport: asyncio.BaseTransport) -> None:  # noqa: D102
        self.transport = transport  # type: ignore[assignment]
        key = base64.b64encode(os.urandom(16)).decode()
        self.transport.write((f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
                              f"Host: {HOST}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
                              f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
                              ).encode())

    def data_received(self, data: bytes) -> None:  # noqa: D102
        self.chunks.append((time.perf_counter(), data))
        if not self.connected.is_set():
            self.parse()

    def connection_lost(self, exc: Exception | None) -> None:  # noqa: D102
        self.closed.set()

    def parse(self) -> None:
        """Turn the bytes received so far into messages; answer pings and the handshake."""
        chunks, self.chunks = self.chunks, []
        for at, data in chunks:
            self._buf += data
            self._buf_at = at
            if not self._upgraded:
                head, sep, rest = self._buf.partition(b"\r\n\r\n")
                if not sep:
                    continue
                if b" 101 " not in head.split(b"\r\n", 1)[0]:
                    raise ConnectionError(head.decode(errors="replace"))
                self._upgraded, self._buf = True, rest
            self._frames(at)

    def _frames(self, at: float) -> None:
        buf = self._buf
        while len(buf) >= 2:
            b0, b1 = buf[0], buf[1]
            n, pos = b1 & 0x7F, 2
            if n == 126:
                if len(buf) < 4:
                    break
                n, pos = int.from_bytes(buf[2:4], "big"), 4
            elif n == 127:
                if len(buf) < 10:
                    break
                n, pos = int.from_bytes(buf[2:10], "big"), 10
            if len(buf) < pos + n:
                break
            payload, buf = buf[pos:pos + n], buf[pos + n:]
            opcode = b0 & 0x0F
            if opcode == 8:
                self.close()
            elif opcode == 9:
                self._frame(payload, 10)
            elif opcode in (0, 1, 2):
                self._text += payload
                if b0 & 0x80:
                    self._message(at, self._text.decode())
                    self._text = b""
        self._buf = buf

    def _message(self, at: float, msg: str) -> None:
        if msg.startswith("0{"):
            self._send("40" + json.dumps(self.auth))
        elif msg == "2":
            self._send("3")
        elif msg.startswith("40"):
            self.connected.set()
        elif msg.startswith("44"):
            self.close()
        elif msg.startswith("42"):
            name = msg[4:msg.index('"', 4)]
            self.got.append((at, name, msg))

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
        if self.transport is not None:
            self.transport.write(head + mask + body)

    def _send(self, text: str) -> None:
        self._frame(text.encode(), 1)

    def close(self) -> None:
        """Drop the connection."""
        if self.transport is not None:
            self.transport.close()
        self.closed.set()


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
            s.parse()  # what the previous step sent is not this call's
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

        # wait for the traffic to pass, then read it: parsing while bytes arrive would delay
        # the arrival times of the sockets not yet read
        seen, quiet_since = -1, time.perf_counter()
        while time.perf_counter() < deadline:
            await asyncio.sleep(0.01)
            arrived = sum(len(s.chunks) for s in socks)
            if arrived != seen:
                seen, quiet_since = arrived, time.perf_counter()
                continue
            if time.perf_counter() - quiet_since < 0.05:
                continue
            for s in socks:
                s.parse()
            if all(board_done(s) for s in socks if s.kind == "board") and all(
                    phone_done(s) for s in socks if s.kind == "phone"):
                break
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
