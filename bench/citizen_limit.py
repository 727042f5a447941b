"""What the citizens' daily limit costs an issue (measures, never asserts).

Run: .venv/bin/python bench/citizen_limit.py [--tickets 1000] [--database-url postgresql://...]

In a temporary data directory with the demo center, it issues tickets through the domain
(one transaction each, as the API does): without a card, with a card's number and no limit
(nothing is kept), and with a limit (one HMAC and one upsert more per ticket), each time
with a different number; then it prints the mean and p90 time of one issue and what the
day keeps.
"""

from __future__ import annotations

import argparse
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import func, select  # noqa: E402

from layso import db  # noqa: E402
from layso.cli import init_db  # noqa: E402
from layso.config import load  # noqa: E402
from layso.db import Database  # noqa: E402
from layso.queue import SYSTEM, Center, catalog, ops  # noqa: E402

SERVICES = ["civil-status", "certification", "land", "social", "business", "online-help"]


def run(center: Center, n: int, card: bool, offset: int) -> list[float]:
    times = []
    for i in range(n):
        cid = f"{38_060_000_000 + offset + i:012d}" if card else None
        t0 = time.perf_counter()
        with center.write() as tx:
            ops.issue(tx, SYSTEM, SERVICES[i % len(SERVICES)], citizen_id=cid)
        times.append((time.perf_counter() - t0) * 1000)
    return times


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tickets", type=int, default=1000)
    ap.add_argument("--database-url")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database_url or f"sqlite:///{Path(tmp) / 'layso.db'}"
        init_db(load({"DATA_DIR": tmp, "DATABASE_URL": url}), demo=True)
        center = Center(Database(url))
        rows = []
        for name, card, limit in (("no card", False, None), ("card, no limit", True, None),
                                  ("card, limit 2", True, 2)):
            with center.write() as tx:
                catalog.update_center(tx, citizen_daily_limit=limit)
            ms = run(center, args.tickets, card, offset=len(rows) * args.tickets)
            ms.sort()
            rows.append((name, statistics.mean(ms), ms[int(len(ms) * 0.9)]))
        with center.read() as r:
            kept = r.conn.execute(select(func.count()).select_from(db.citizen_counts)).scalar()
        center.db.dispose()
    print(f"{'issue':<16}{'mean ms':>10}{'p90 ms':>10}   ({args.tickets} tickets each, "
          f"{url.split(':', 1)[0]})")
    for name, mean, p90 in rows:
        print(f"{name:<16}{mean:>10.2f}{p90:>10.2f}")
    print(f"keyed hashes kept for the day: {kept} (one per number and service, limit on)")


if __name__ == "__main__":
    main()
