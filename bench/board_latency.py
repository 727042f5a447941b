"""Board latency: time from an official's call to the event on boards and phones, and server memory.

    .venv/bin/python bench/board_latency.py --main-tree /tmp/rt-main   # the three, 100/500/1000
    .venv/bin/python bench/board_latency.py --modes threading --clients 100 --calls 10

Server models, each a fresh `layso init --demo` data directory per row, run side by side in the
same run (for each client count, every mode in turn, so the box's load touches them alike):

- `fanout`: the fan-out the product had before (direct WebSocket writes patched into
  Engine.IO), served from a checkout of that code (`--main-tree`, e.g.
  `git worktree add /tmp/rt-main <commit>`): `layso run` run with that tree first on the path.
  Never part of the product; here only to compare.
- `threading`: this tree's `layso run` with `LAYSO_WORKER=gthread`: Flask-SocketIO threading
  mode under gunicorn gthread (one worker; `LAYSO_THREADS` raised to clients + 200, since
  each WebSocket holds a thread). The product's model until 2026-12-03, kept as a fallback.
- `gevent`: this tree's plain `layso run` (the product's model since 2026-12-03): gunicorn's
  gevent worker (one worker, `LAYSO_CONNECTIONS` default 2,000), the standard library
  patched first, Flask-SocketIO in gevent mode with simple-websocket (`layso/server.py`).

For each client count N it connects N sockets (half boards on the `board` channel, half phones
on the `ticket` channel of waiting tickets), then makes `--calls` calls at counter 3. A board's
latency is from just before `POST /counters/3/call-next` to its `ticket.called`; a phone's is
to the `ticket.updated` telling it that one fewer person is ahead. Server memory is the
resident set of the server's processes (gunicorn master + worker) with every client connected;
its CPU is their user + system time over the calls, per call (each call is followed by a start
and a complete): on a box shared with other work it moves much less than the latencies do.

The clients are one asyncio loop speaking Engine.IO 4 / Socket.IO 5 over a plain WebSocket
(standard library only), so 1,000 of them cost the measuring side little. With `--deflate`
they offer permessage-deflate as every browser does (the server then compresses each frame
for each socket that accepted it, and the clients inflate them after the timing). It prints the
machine, its reference (a Flask hello-world's requests/s, `bench/issue_call.py`), `uptime`
before each row, and the figures; it never asserts them. `--max-seconds` bounds the run.
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
import zlib
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
MODES = ("fanout", "threading", "gevent")


# -- a minimal Socket.IO client over asyncio ---------------------------------------------------

class Sock(asyncio.Protocol):
    """One Socket.IO connection (WebSocket transport only) that timestamps what it receives.

    Bytes are timestamped when they reach this process and parsed later, in a quiet moment:
    500 clients parsing frames as they arrive would delay the clock readings of the others
    (and take CPU from the server on the same two cores), which is not the server's latency.
    """

    def __init__(self, kind: str, auth: dict[str, Any], deflate: bool = False) -> None:
        self.kind = kind
        self.deflate = deflate  # offer permessage-deflate, as every browser does
        self._inflate: Any = None  # set when the server accepted it
        self.auth = auth
        self.got: list[tuple[float, str, str]] = []  # (perf_counter, event name, raw message)
        self.connected = asyncio.Event()
        self.closed = asyncio.Event()
        self.transport: asyncio.Transport | None = None
        self.chunks: list[tuple[float, bytes]] = []
        self._buf = b""
        self._buf_at = 0.0
        self._text = b""
        self._deflated = False
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
                              f"Sec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n"
                              + ("Sec-WebSocket-Extensions: permessage-deflate; "
                                 "client_max_window_bits\r\n" if self.deflate else "")
                              + "\r\n").encode())

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
                if b"permessage-deflate" in head.lower():
                    self._inflate = zlib.decompressobj(-zlib.MAX_WBITS)
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
                if opcode and b0 & 0x40:  # RSV1 on a message's first frame: compressed
                    self._deflated = True
                self._text += payload
                if b0 & 0x80:
                    if self._deflated:  # RFC 7692 §7.2.2: the stripped tail goes back on
                        self._text = self._inflate.decompress(self._text + b"\x00\x00\xff\xff")
                        self._deflated = False
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
    """A fresh demo center served in one of the MODES."""

    def __init__(self, mode: str, clients: int, main_tree: Path | None = None) -> None:
        self.mode = mode
        self.dir = Path(tempfile.mkdtemp(prefix="layso-bench-"))
        self.port = free_port()
        self.url = f"http://{HOST}:{self.port}"
        self.env = {**os.environ, "LAYSO_DATA_DIR": str(self.dir), "LAYSO_PUBLIC_URL": self.url,
                    "LAYSO_THREADS": str(max(600, clients + 200))}
        for key in ("LAYSO_MESSAGE_QUEUE", "LAYSO_WORKER", "LAYSO_CONNECTIONS"):
            self.env.pop(key, None)
        if mode == "threading":
            self.env["LAYSO_WORKER"] = "gthread"
        self.cwd = ROOT
        if mode == "fanout":
            if main_tree is None or not (main_tree / "layso" / "fanout.py").exists():
                raise SystemExit("--main-tree must be a checkout that has layso/fanout.py")
            self.env["PYTHONPATH"] = str(main_tree)
            self.cwd = main_tree
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        """Initialise the demo center and start serving; returns once health answers."""
        subprocess.run([sys.executable, "-m", "layso.cli", "init", "--demo"], env=self.env,
                       check=True, capture_output=True, cwd=self.cwd, timeout=120)
        cmd = [sys.executable, "-m", "layso.cli", "run", "--port", str(self.port)]
        log = open(self.dir / "server.log", "wb")  # noqa: SIM115 - lives with the process
        self.proc = subprocess.Popen(cmd, env=self.env, stdout=log, stderr=subprocess.STDOUT,
                                     start_new_session=True, cwd=self.cwd)
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

    def cpu(self) -> float:
        """CPU seconds (user + system) the server's processes have used so far."""
        assert self.proc is not None
        ticks = 0
        for stat in Path("/proc").glob("[0-9]*/stat"):
            try:
                fields = stat.read_text().rsplit(")", 1)[1].split()
                if int(fields[3]) == self.proc.pid:  # process group id
                    ticks += int(fields[11]) + int(fields[12])  # utime, stime
            except (OSError, IndexError, ValueError):
                continue
        return ticks / os.sysconf("SC_CLK_TCK")

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


async def measure(server: Server, clients: int, calls: int, deflate: bool = False
                  ) -> dict[str, Any]:
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

    socks = [Sock("board", {"channel": "board"}, deflate) for _ in range(boards_n)]
    socks += [Sock("phone", {"channel": "ticket", "ticket": tok}, deflate)
              for tok in phone_tokens]
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
    cpu_before = server.cpu()
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
    cpu_ms = (server.cpu() - cpu_before) * 1000 / calls
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
            "missing": (missing_b, missing_p),
            "deflated": sum(s._inflate is not None for s in socks), "cpu_ms": cpu_ms}


def uptime() -> str:
    """The load averages, as `uptime` prints them."""
    out = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout
    return out.strip().split("load average:")[-1].strip()


def one_row(mode: str, n: int, calls: int, main_tree: Path | None, deflate: bool = False
            ) -> dict[str, Any]:
    """One fresh server in one mode with n clients."""
    server = Server(mode, n, main_tree)
    load = uptime()
    try:
        server.start()
        idle_rss, idle_threads = server.memory()
        r = asyncio.run(asyncio.wait_for(measure(server, n, calls, deflate),
                                         60 + n / 5 + calls * 5))
    finally:
        server.stop()
    r.update(mode=mode, load=load, idle_rss=idle_rss, idle_threads=idle_threads)
    return r


def show(r: dict[str, Any]) -> None:
    """Print one row's figures."""
    both = r["board"] + r["phone"]
    print(f"\n{r['mode']}: {r['clients']} clients ({r['boards']} boards, {r['phones']} phones),"
          f" connected in {r['connect_s']:.1f} s; load before: {r['load']}")
    print(f"  board  ticket.called   {fmt(r['board'])}")
    print(f"  phone  ticket.updated  {fmt(r['phone'])}")
    print(f"  all clients            {fmt(both)}")
    print(f"  call-next API answer   {fmt(r['api'])}")
    print(f"  server CPU per call, start and complete: {r['cpu_ms']:.0f} ms (less sensitive "
          "to a shared box's load than the latencies)")
    print(f"  server RSS {r['rss']:.0f} MB, {r['threads']} threads with the clients "
          f"connected ({r['idle_rss']:.0f} MB, {r['idle_threads']} threads idle; "
          f"{r['rss_after']:.0f} MB after the calls)", flush=True)
    if r.get("deflated"):
        print(f"  {r['deflated']} of {r['clients']} sockets compressed (permessage-deflate)")
    if any(r["missing"]):
        print(f"  MISSING: {r['missing'][0]} board and {r['missing'][1]} phone events "
              "did not arrive within 10 s")


def table(rows: list[dict[str, Any]]) -> None:
    """The rows as a Markdown table, for docs/benchmarks.md."""
    print("\n| clients | mode | board p50 / p95 / p99 ms | all clients p50 / p95 / p99 ms "
          "| call-next p50 ms | RSS MB | threads | missing | load before |")
    print("|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if "error" in r:
            print(f"| {r['clients']} | {r['mode']} | failed: {r['error']} | | | | | | "
                  f"{r['load']} |")
            continue
        both = r["board"] + r["phone"]
        b = " / ".join(f"{pct(r['board'], p):.1f}" for p in (50, 95, 99))
        a = " / ".join(f"{pct(both, p):.1f}" for p in (50, 95, 99))
        print(f"| {r['clients']} | {r['mode']} | {b} | {a} | {pct(r['api'], 50):.1f} | "
              f"{r['rss']:.0f} | {r['threads']} | {sum(r['missing'])} | {r['load']} |")


def main() -> None:
    """Parse the options and run."""
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--clients", default="100,500,1000", help="client counts, comma separated")
    ap.add_argument("--calls", type=int, default=20, help="calls per row (max 200)")
    ap.add_argument("--modes", default=",".join(MODES), help="comma separated, of " +
                    ", ".join(MODES))
    ap.add_argument("--main-tree", type=Path, help="checkout with layso/fanout.py (fanout mode)")
    ap.add_argument("--deflate", action="store_true",
                    help="clients offer permessage-deflate, as browsers do")
    ap.add_argument("--max-seconds", type=float, default=1800,
                    help="stop starting rows after this long")
    args = ap.parse_args()
    counts = [max(1, min(int(c), 1000)) for c in args.clients.split(",")]
    calls = max(1, min(args.calls, 200))
    modes = [m for m in args.modes.split(",") if m]
    if set(modes) - set(MODES):
        raise SystemExit(f"modes are {', '.join(MODES)}")
    sys.path.insert(0, str(ROOT))
    from bench.issue_call import machine, reference_rate

    started = time.monotonic()
    print(f"machine: {machine()}")
    print(f"machine reference: {reference_rate():.0f} requests/s (Flask hello-world, gunicorn "
          f"gthread, 8 keep-alive clients); load: {uptime()}", flush=True)
    if args.deflate:
        print("clients offer permessage-deflate (as browsers do)")
    rows: list[dict[str, Any]] = []
    for n in counts:
        for mode in modes:
            if time.monotonic() - started > args.max_seconds:
                print(f"\n{mode} {n}: skipped (--max-seconds reached)")
                continue
            try:
                r = one_row(mode, n, calls, args.main_tree, args.deflate)
            except Exception as exc:  # noqa: BLE001 - a mode that cannot hold n clients
                why = " ".join(f"{type(exc).__name__} {exc}".split())
                r = {"mode": mode, "clients": n, "error": why[-160:],
                     "load": uptime()}
                print(f"\n{mode}: {n} clients FAILED: {r['error']}", flush=True)
            else:
                show(r)
            rows.append(r)
    print(f"\nmachine reference after: {reference_rate():.0f} requests/s; load: {uptime()}; "
          f"{time.monotonic() - started:.0f} s in all")
    table(rows)


if __name__ == "__main__":
    main()
