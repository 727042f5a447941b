"""Print the ESC/POS size of the demo ticket for each width and QR mode (measures, never asserts).

Run: .venv/bin/python bench/ticket_bytes.py
"""

from __future__ import annotations

import sys
import time
from datetime import datetime, timedelta, timezone
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from printer_drivers.escpos_bytes import encode_ticket  # noqa: E402
from printer_drivers.ticket import WIDTHS, TicketPrint  # noqa: E402


def demo_ticket(lang: str) -> TicketPrint:
    """Return the demo ticket with a priority category."""
    return TicketPrint(
        center_name="Trung tâm Phục vụ hành chính công xã Thọ Xuân",
        label="A023",
        service_name="Lao động – Thương binh và Xã hội",
        issued_at=datetime(2025, 7, 14, 8, 35, tzinfo=timezone(timedelta(hours=7))),
        ahead=4,
        eta_minutes=18,
        status_url="http://192.168.1.10:5000/t/Zx8kQ2mA7pLr",
        priority_name="Người cao tuổi",
        lang=lang,
    )


def main() -> None:
    """Print the table."""
    print(f"{'width':>5} {'qr':>6} {'lang':>4} {'bytes':>7} {'KiB':>6} {'ms':>5} {'s@9600':>7}")
    for lang in ("vi", "en"):
        for width in WIDTHS:
            for qr in ("native", "image"):
                started = time.perf_counter()
                size = len(encode_ticket(demo_ticket(lang), width, qr))
                ms = (time.perf_counter() - started) * 1000
                print(
                    f"{width:>5} {qr:>6} {lang:>4} {size:>7} {size / 1024:>6.1f} {ms:>5.0f}"
                    f" {size * 10 / 9600:>7.1f}"
                )


if __name__ == "__main__":
    main()
