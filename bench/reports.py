"""Reports at a year's scale (measures, never asserts).

Run: .venv/bin/python bench/reports.py [--days 250] [--per-day 1000] [--runs 7]
         [--database-url postgresql://postgres@127.0.0.1:5432/layso_bench]

It seeds the demo center with `--days` working days (Monday to Friday) of `--per-day` tickets
each, straight into the tables in large batches (issuing a quarter of a million tickets one by
one through the domain would measure the seed, not the reports): waits and service times drawn
at random, 4 % absent (half of them reactivated and served), 2 % cancelled, 3 % transferred,
60 % of the served rated. Then it times each `by` over a day, a month and the whole year,
`--runs` times each (p50 and p95), and the year's XLSX workbook (time, and Python's peak memory
while building it, measured in a second run under tracemalloc).
"""

from __future__ import annotations

import argparse
import random
import statistics
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import date, datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from sqlalchemy import insert, select  # noqa: E402

from layso import auth, create_app, db  # noqa: E402,F401  (create_app: import order)
from layso.config import load  # noqa: E402
from layso.db import Database  # noqa: E402
from layso.events import Hub  # noqa: E402
from layso.queue import Center, reports  # noqa: E402

TZ = ZoneInfo("Asia/Ho_Chi_Minh")


def pct(values: list[float], p: float) -> float:
    """The p-th percentile (nearest rank)."""
    ordered = sorted(values)
    return ordered[max(0, min(len(ordered) - 1, -(-len(ordered) * p // 100) - 1))]


def working_days(n: int, last: date) -> list[date]:
    """The n working days up to `last`, oldest first."""
    out: list[date] = []
    d = last
    while len(out) < n:
        if d.weekday() < 5:
            out.append(d)
        d -= timedelta(days=1)
    return out[::-1]


def seed(center: Center, days: list[date], per_day: int, rng: random.Random) -> None:
    """Write the days' tickets, marks and ratings in batches, one transaction per day."""
    with center.db.write() as conn:
        services = conn.execute(select(db.services).order_by(db.services.c.position)).all()
        counters = {c.number: c.id for c in conn.execute(select(db.counters)).all()}
        officers = {}
        for n in counters:
            officers[n] = auth.add_user(conn, f"bench{n}", "password-bench", "officer",
                                        f"Cán bộ {n}")
        device = auth.add_device(conn, "Tablet bench", "feedback", counters[1])
        device_id = conn.execute(select(db.devices.c.id).where(
            db.devices.c.name == "Tablet bench")).scalar()
        del device
    serving = {"A": 1, "B": 2, "C": 3, "D": 4, "E": 5, "F": 4}
    weights = [30, 25, 15, 12, 10, 8]
    tid = 0
    for d in days:
        opened = datetime.combine(d, datetime.min.time().replace(hour=7, minute=30), TZ)
        numbers = {s.id: 0 for s in services}
        tickets, marks, ratings = [], [], []
        with center.db.write() as conn:
            day_id = conn.execute(insert(db.business_days).values(
                day=d, epoch=f"bench-{d}", opened_at=opened).returning(
                db.business_days.c.id)).scalar()
            for i in range(per_day):
                tid += 1
                s = rng.choices(services, weights)[0]
                numbers[s.id] += 1
                issued = opened + timedelta(seconds=i * (9 * 3600 / per_day)
                                            + rng.uniform(0, 20))
                final = s
                roll = rng.random()
                n = serving[s.prefix]
                row = dict(id=tid, day_id=day_id, origin_service_id=s.id, number=numbers[s.id],
                           label=f"{s.prefix}{numbers[s.id]:03d}", token=f"b{tid:08x}",
                           lang="vi", queue_at=issued, issued_at=issued, recalls=0,
                           print_state="none")
                if roll < 0.02:
                    row.update(state="cancelled", service_id=s.id,
                               finished_at=issued + timedelta(minutes=rng.uniform(1, 20)))
                    tickets.append(row)
                    continue
                if 0.02 <= roll < 0.05:  # transferred out of its first service
                    final = rng.choice([x for x in services if x.id != s.id])
                    marks.append(dict(ticket_id=tid, day_id=day_id, kind="transfer",
                                      service_id=s.id, counter_id=counters[n],
                                      officer_id=officers[n],
                                      at=issued + timedelta(minutes=10)))
                    n = serving[final.prefix]
                wait = rng.expovariate(1 / 15)
                called = issued + timedelta(minutes=wait)
                absent = 0.05 <= roll < 0.09
                if absent:
                    marks.append(dict(ticket_id=tid, day_id=day_id, kind="no_show",
                                      service_id=final.id, counter_id=counters[n],
                                      officer_id=officers[n], at=called))
                    if roll < 0.07:  # never came back
                        row.update(state="no_show", service_id=final.id, called_at=called,
                                   finished_at=called, counter_id=counters[n],
                                   officer_id=officers[n])
                        tickets.append(row)
                        continue
                    called += timedelta(minutes=rng.uniform(5, 30))
                started = called + timedelta(seconds=rng.uniform(20, 90))
                finished = started + timedelta(minutes=rng.lognormvariate(1.9, 0.5))
                row.update(state="done", service_id=final.id, called_at=called,
                           started_at=started, finished_at=finished, counter_id=counters[n],
                           officer_id=officers[n], outcome="done")
                tickets.append(row)
                if rng.random() < 0.6:
                    score = rng.choices([5, 4, 3, 2, 1], [55, 25, 10, 6, 4])[0]
                    ratings.append(dict(ticket_id=tid, counter_id=counters[n],
                                        officer_id=officers[n], device_id=device_id,
                                        score=score,
                                        reason="long_wait" if score <= 3 else None,
                                        comment="Chờ hơi lâu" if score <= 2 else None,
                                        at=finished + timedelta(seconds=20)))
            for table, rows in ((db.tickets, tickets), (db.ticket_marks, marks),
                                (db.ratings, ratings)):
                if rows:
                    keys = set().union(*rows)
                    conn.execute(insert(table), [{k: r.get(k) for k in keys} for r in rows])


def timed(fn: object, runs: int) -> list[float]:
    """Milliseconds of each of `runs` calls."""
    out = []
    for _ in range(runs):
        t0 = time.perf_counter()
        fn()  # type: ignore[operator]
        out.append((time.perf_counter() - t0) * 1000)
    return out


def uptime() -> str:
    """The machine's load, as `uptime` prints it."""
    return subprocess.run(["uptime"], capture_output=True, text=True).stdout.strip()


def main() -> None:
    """Seed, measure, print."""
    ap = argparse.ArgumentParser()
    ap.add_argument("--days", type=int, default=250)
    ap.add_argument("--per-day", type=int, default=1000)
    ap.add_argument("--runs", type=int, default=7)
    ap.add_argument("--database-url")
    args = ap.parse_args()
    tmp = Path(tempfile.mkdtemp(prefix="layso-bench-"))
    url = args.database_url or f"sqlite:///{tmp / 'layso.db'}"
    from layso.cli import init_db

    init_db(load({"DATA_DIR": str(tmp), "DATABASE_URL": url}), demo=True)
    center = Center(Database(url), Hub())
    days = working_days(args.days, date(2026, 11, 27))
    rng = random.Random(20261202)
    t0 = time.perf_counter()
    seed(center, days, args.per_day, rng)
    print(f"database: {center.db.engine.dialect.name}; seeded {len(days)} days × "
          f"{args.per_day} tickets in {time.perf_counter() - t0:.1f} s")
    print(f"load before: {uptime()}")
    t0 = time.perf_counter()
    n = reports.ensure_rollups(center, days[0], days[-1])
    print(f"rollups of {n} past days (once, the first report that covers them): "
          f"{time.perf_counter() - t0:.1f} s")
    month = [d for d in days if (d.year, d.month) == (days[-1].year, days[-1].month)]
    periods = {"day": (days[-1], days[-1]), "month": (month[0], month[-1]),
               "year": (days[0], days[-1])}
    # the same reports through the HTTP API (routing, auth, JSON), as a leader's page asks
    app = create_app({"DATA_DIR": str(tmp), "DATABASE_URL": url, "SECRET_KEY": "bench"})
    with app.extensions["layso"].db.write() as conn:
        auth.add_user(conn, "bench-supervisor", "bench-password", "supervisor", "")
    client = app.test_client()
    # the session cookie of a logged-in leader: the API and the file both take it
    login = client.post("/api/v1/auth/login", json={"username": "bench-supervisor",
                                                      "password": "bench-password"})
    assert login.status_code == 200, login.get_data(as_text=True)
    print(f"{'by':10} {'period':6} {'p50 ms':>8} {'p95 ms':>8} {'API p50':>8} {'API p95':>8}")
    for by in reports.BYS:
        for name, (first, last) in periods.items():
            def run(first: date = first, last: date = last, by: str = by) -> None:
                with center.read() as r:
                    reports.period_report(r, first, last, by)

            def call(first: date = first, last: date = last, by: str = by) -> None:
                got = client.get(f"/api/v1/reports?from={first}&to={last}&by={by}")
                assert got.status_code == 200, got.get_data(as_text=True)
            ms = timed(run, args.runs)
            api_ms = timed(call, args.runs)
            print(f"{by:10} {name:6} {statistics.median(ms):8.0f} {pct(ms, 95):8.0f} "
                  f"{statistics.median(api_ms):8.0f} {pct(api_ms, 95):8.0f}")
    from layso.admin.reporting import workbook

    first, last = periods["year"]

    def xlsx() -> int:
        with center.read() as r:
            return len(workbook(r, first, last).getvalue())
    t0 = time.perf_counter()
    size = xlsx()
    secs = time.perf_counter() - t0
    tracemalloc.start()
    xlsx()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    print(f"year XLSX: {secs:.2f} s, {size / 1024:.0f} KiB, Python peak {peak / 2**20:.1f} MiB")
    t0 = time.perf_counter()
    got = client.get(f"/admin/reports.xlsx?from={first}&to={last}")
    print(f"year XLSX through /admin/reports.xlsx: {got.status_code}, "
          f"{time.perf_counter() - t0:.2f} s, {len(got.data) / 1024:.0f} KiB")
    print(f"load after: {uptime()}")
    app.extensions["layso"].db.dispose()
    center.db.dispose()


if __name__ == "__main__":
    main()
