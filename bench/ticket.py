"""Ticket printing benchmark (measures, never asserts).

1. Latency: from the kiosk's POST /api/v1/tickets until the ticket's ESC/POS bytes have been
   handed to the printer (the socket write to a TCP printer emulator on 127.0.0.1 returned),
   through the real app, hub and print worker; one ticket at a time, p50/p95/max.
2. The print agent's path: from the kiosk's POST to a real server (`layso run`, gunicorn, a
   subprocess) until the whole ticket (up to its cut) has reached the printer of that kiosk's
   print agent (`layso print-agent`, one process per kiosk, each with its own TCP printer
   emulator in this process): commit → router → socket `print.job` → agent → DLE EOT status
   → render → ESC/POS → the emulator. At 1 kiosk and at 4 kiosks issuing at the same time,
   each kiosk one ticket at a time.
3. Bytes per ticket for each width and QR mode (Vietnamese and English tickets).

Run: .venv/bin/python bench/ticket.py [N]     (N tickets per row; per kiosk for the agents)
"""

from __future__ import annotations

import logging
import os
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from bench.ticket_bytes import demo_ticket  # noqa: E402
from layso import auth, create_app  # noqa: E402
from layso.cli import init_db  # noqa: E402
from layso.config import load  # noqa: E402
from printer_drivers.escpos_bytes import encode_ticket  # noqa: E402
from printer_drivers.ticket import WIDTHS  # noqa: E402
from tests.live import LiveServer  # noqa: E402
from tests.printer_emulator import PrinterEmulator  # noqa: E402

SERVICES = ["civil-status", "certification", "land", "social", "business", "online-help"]


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, max(0, round(p / 100 * len(ordered)) - 1))]


def latency(n: int, width: int, qr: str) -> tuple[list[float], list[int]]:
    """Issue n tickets through the app; return ms until bytes were handed over, and sizes."""
    with tempfile.TemporaryDirectory() as tmp, PrinterEmulator() as emu:
        clock = lambda: datetime.now(UTC)  # noqa: E731
        cfg = {"DATA_DIR": tmp, "SECRET_KEY": "bench", "PUBLIC_URL": "http://192.168.1.10:8000",
               "PRINTER": f"{emu.uri}?width={width}&qr={qr}", "KIOSK_RATE_PER_MINUTE": 100000,
               "CLOCK": clock}
        init_db(load(cfg), demo=True)
        app = create_app(cfg)
        center = app.extensions["layso"]
        with center.db.write() as conn:
            token = auth.add_device(conn, "Bench kiosk", "kiosk")
        worker = app.extensions["layso_print_worker"]
        handed: dict[str, float] = {}
        sizes: list[int] = []
        done = threading.Event()
        send = worker.printer.send_ticket

        def timed_send(job):  # type: ignore[no-untyped-def]
            send(job)
            handed[job.label] = time.perf_counter()
            sizes.append(len(job.data))
            done.set()

        worker.printer.send_ticket = timed_send  # type: ignore[method-assign]
        client = app.test_client()
        headers = {"Authorization": f"Bearer {token}"}
        assert client.get("/api/v1/health").get_json()["printer"] == "ok"
        out: list[float] = []
        for i in range(n + 5):
            done.clear()
            started = time.perf_counter()
            r = client.post("/api/v1/tickets", headers=headers,
                            json={"service": SERVICES[i % len(SERVICES)],
                                  "priority": "elderly" if i % 7 == 0 else None})
            label = r.get_json()["label"]
            if not done.wait(10):
                raise RuntimeError(f"{label} was not printed")
            if i >= 5:  # the first few warm caches (fonts, SQL)
                out.append((handed[label] - started) * 1000)
        worker.stop()
        center.db.dispose()
        return out, sizes[5:]


def agent_latency(n: int, kiosks: int) -> list[float]:
    """Issue n tickets per kiosk through a live server to its print agent (a `layso
    print-agent` process per kiosk); ms until the whole ticket (its cut) reached the agent's
    printer."""
    import requests

    with tempfile.TemporaryDirectory() as tmp, ExitStackOfEmulators(kiosks) as emus:
        server = LiveServer(Path(tmp) / "server",
                            env={"LAYSO_KIOSK_RATE_PER_MINUTE": "100000"})
        server.init()
        tokens = [server.cli("device", "add", f"Kiosk {i + 1}", "--kind", "kiosk", "--printer",
                             "agent://").strip().splitlines()[-1] for i in range(kiosks)]
        server.start()
        arrived: list[float] = [0.0] * kiosks
        done = [threading.Event() for _ in range(kiosks)]
        for i, emu in enumerate(emus):
            def cut(i: int = i) -> None:
                arrived[i] = time.perf_counter()
                done[i].set()

            emu.on_cut = cut
        agents = [subprocess.Popen(
            [sys.executable, "-m", "layso.cli", "print-agent", "--server", server.url,
             "--printer", emu.uri + "?qr=native", "--state", str(Path(tmp) / f"agent-{i}.json")],
            env={**os.environ, "LAYSO_AGENT_TOKEN": tokens[i],
                 "LAYSO_DATA_DIR": str(Path(tmp) / f"agent-{i}")},
            stdout=open(Path(tmp) / f"agent-{i}.log", "wb"),  # noqa: SIM115
            stderr=subprocess.STDOUT)
            for i, emu in enumerate(emus)]
        try:
            deadline = time.monotonic() + 30
            while time.monotonic() < deadline:
                states = [p["state"] for p in requests.get(
                    server.url + "/api/v1/health", timeout=5).json()["printers"]]
                if states.count("ok") == kiosks:
                    break
                time.sleep(0.2)
            else:
                logs = [(Path(tmp) / f"agent-{i}.log").read_text()[-800:] for i in range(kiosks)]
                raise RuntimeError(f"the agents did not connect: {states} {logs}")
            out: list[float] = []
            lock = threading.Lock()

            def kiosk(i: int) -> None:
                session = requests.Session()
                headers = {"Authorization": f"Bearer {tokens[i]}"}
                for k in range(n + 5):
                    done[i].clear()
                    started = time.perf_counter()
                    r = session.post(server.url + "/api/v1/tickets", headers=headers, timeout=10,
                                     json={"service": SERVICES[(i + k) % len(SERVICES)]})
                    label = r.json()["label"]
                    if not done[i].wait(10):
                        raise RuntimeError(f"{label} was not printed by agent {i}")
                    if k >= 5:  # the first few warm caches (fonts, SQL)
                        with lock:
                            out.append((arrived[i] - started) * 1000)

            threads = [threading.Thread(target=kiosk, args=(i,)) for i in range(kiosks)]
            for t in threads:
                t.start()
            for t in threads:
                t.join()
            return out
        finally:
            for agent in agents:
                agent.terminate()
                agent.wait(10)
            server.kill()


class ExitStackOfEmulators:
    """Several printer emulators, closed together."""

    def __init__(self, count: int) -> None:
        self.emus = [PrinterEmulator() for _ in range(count)]

    def __enter__(self) -> list[PrinterEmulator]:
        return self.emus

    def __exit__(self, *exc: object) -> None:
        for emu in self.emus:
            emu.close()


def main() -> None:
    """Print the tables (`--agent`: only the print agent's)."""
    logging.disable(logging.CRITICAL)  # finished apps' background ticks find their data gone
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    n = int(args[0]) if args else 100
    only_agent = "--agent" in sys.argv
    if not only_agent:
        print(f"Issue request → bytes handed to the printer, {n} tickets each, TCP emulator")
        print(f"{'width':>5} {'qr':>6} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} {'mean B':>7}")
        for width, qr in ((576, "native"), (576, "image"), (384, "native")):
            ms, sizes = latency(n, width, qr)
            print(f"{width:>5} {qr:>6} {statistics.median(ms):>7.1f} {pct(ms, 95):>7.1f}"
                  f" {max(ms):>7.1f} {statistics.mean(sizes):>7.0f}")
        print()
    print(f"Print agent: issue request (live server) → bytes handed to the agent's printer, "
          f"{n} tickets per kiosk, 576 dots, native QR")
    print(f"{'kiosks':>6} {'tickets':>7} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7}")
    for kiosks in (1, 4):
        ms = agent_latency(n, kiosks)
        print(f"{kiosks:>6} {len(ms):>7} {statistics.median(ms):>7.1f} {pct(ms, 95):>7.1f}"
              f" {max(ms):>7.1f}", flush=True)
    if only_agent:
        return
    print()
    print("Bytes per demo ticket (priority badge, D-service long name)")
    print(f"{'width':>5} {'qr':>6} {'lang':>4} {'bytes':>7} {'KiB':>6}")
    for lang in ("vi", "en"):
        for width in WIDTHS:
            for qr in ("native", "image"):
                size = len(encode_ticket(demo_ticket(lang), width, qr))
                print(f"{width:>5} {qr:>6} {lang:>4} {size:>7} {size / 1024:>6.1f}")


if __name__ == "__main__":
    main()
