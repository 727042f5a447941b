"""Ticket printing benchmark (measures, never asserts).

1. Latency: from the kiosk's POST /api/v1/tickets until the ticket's ESC/POS bytes have been
   handed to the printer (the socket write to a TCP printer emulator on 127.0.0.1 returned),
   through the real app, hub and print worker; one ticket at a time, p50/p95/max.
2. Bytes per ticket for each width and QR mode (Vietnamese and English tickets).

Run: .venv/bin/python bench/ticket.py [N]
"""

from __future__ import annotations

import logging
import statistics
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


def main() -> None:
    """Print both tables."""
    logging.disable(logging.CRITICAL)  # finished apps' background ticks find their data gone
    n = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    print(f"Issue request → bytes handed to the printer, {n} tickets each, TCP emulator")
    print(f"{'width':>5} {'qr':>6} {'p50 ms':>7} {'p95 ms':>7} {'max ms':>7} {'mean B':>7}")
    for width, qr in ((576, "native"), (576, "image"), (384, "native")):
        ms, sizes = latency(n, width, qr)
        print(f"{width:>5} {qr:>6} {statistics.median(ms):>7.1f} {pct(ms, 95):>7.1f}"
              f" {max(ms):>7.1f} {statistics.mean(sizes):>7.0f}")
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
