"""A large commune's catalogue: 70 services with 400 procedures and 30 counters.

    .venv/bin/python bench/admin_catalogue.py            # SQLite in a temporary folder
    .venv/bin/python bench/admin_catalogue.py --database-url postgresql://…/test

It writes the catalogue as a `layso config export` file, imports it into a fresh center
(`layso config import`, one transaction), imports it again (nothing changes), then times the
reads the pages make through the app's test client (no network): the kiosk's `GET /services`,
the admin's `GET /services?all=1` and `GET /counters?all=1`, and one `PATCH /services/{code}`
with its procedures. It prints medians and maxima over `--repeat` runs; it never asserts.
"""

from __future__ import annotations

import argparse
import os
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

LETTERS = "ABCDEFGHIJKLMNOPQRSTUVWXYZ"


def catalogue(services: int = 70, procedures: int = 400, counters: int = 30) -> dict[str, Any]:
    """A file in the export format."""
    out: dict[str, Any] = {"services": [], "counters": []}
    per = [procedures // services + (1 if i < procedures % services else 0)
           for i in range(services)]
    for i in range(services):
        prefix = LETTERS[i % 26] + (LETTERS[i // 26 - 1] if i >= 26 else "")
        out["services"].append({
            "code": f"field-{i:02d}", "prefix": prefix,
            "name": {"vi": f"Lĩnh vực số {i}", "en": f"Field {i}"},
            "procedures": [{"code": f"p{i:02d}-{j:02d}",
                            "name": {"vi": f"Thủ tục hành chính {i}.{j}",
                                     "en": f"Procedure {i}.{j}"}} for j in range(per[i])]})
    for n in range(1, counters + 1):
        out["counters"].append({"number": n, "services": [
            f"field-{(n * 3 + k) % services:02d}" for k in range(3)]})
    return out


def timed(fn: Any, repeat: int) -> tuple[float, float]:
    """Median and maximum milliseconds of `repeat` calls."""
    times = []
    for _ in range(repeat):
        t0 = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t0) * 1000)
    return statistics.median(times), max(times)


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--database-url", help="PostgreSQL URL (a fresh schema is made and dropped)")
    p.add_argument("--repeat", type=int, default=20)
    args = p.parse_args()
    import yaml

    from layso import auth, create_app
    from layso.cli import main as layso

    tmp = Path(tempfile.mkdtemp(prefix="layso-catalogue-"))
    os.environ["LAYSO_DATA_DIR"] = str(tmp)
    drop = None
    if args.database_url:
        sys.path.insert(0, str(ROOT / "bench"))
        from issue_call import pg_schema

        url, drop = pg_schema(args.database_url)
        os.environ["LAYSO_DATABASE_URL"] = url
    try:
        return run(args, tmp, layso, create_app, auth, yaml)
    finally:
        if drop is not None:
            drop()


def run(args: argparse.Namespace, tmp: Path, layso: Any, create_app: Any, auth: Any,
        yaml: Any) -> int:
    """The import and the timed reads."""
    src = tmp / "catalogue.yaml"
    src.write_text(yaml.safe_dump(catalogue(), allow_unicode=True), encoding="utf-8")
    layso(["init"])
    for label in ("import (creates)", "import again (no change)"):
        t0 = time.perf_counter()
        layso(["config", "import", str(src)])
        print(f"{label:34} {(time.perf_counter() - t0) * 1000:8.0f} ms", file=sys.stderr)
    app = create_app({"DATA_DIR": str(tmp)})
    center = app.extensions["layso"]
    with center.db.write() as conn:
        uid = auth.add_user(conn, "bench-admin", "bench-password", "admin")
        token = auth.issue_user_token(conn, uid, 1)
    client = app.test_client()
    h = {"Authorization": f"Bearer {token}"}
    procs = catalogue()["services"][5]["procedures"]
    flip = [False]

    def reorder() -> Any:
        # each call reverses the procedures again, so every one is a real change
        flip[0] = not flip[0]
        return client.patch("/api/v1/services/field-05", headers=h,
                            json={"procedures": procs[::-1] if flip[0] else procs})
    for label, fn in (
            ("GET /services (kiosk)", lambda: client.get("/api/v1/services")),
            ("GET /services?all=1 (admin)", lambda: client.get("/api/v1/services?all=1",
                                                                headers=h)),
            ("GET /counters?all=1 (admin)", lambda: client.get("/api/v1/counters?all=1",
                                                                headers=h)),
            ("PATCH /services/field-05 (reorder)", reorder)):
        r = fn()
        assert r.status_code == 200, r.get_data(as_text=True)
        med, worst = timed(fn, args.repeat)
        print(f"{label:34} median {med:7.1f} ms   max {worst:7.1f} ms   "
              f"({len(r.get_data())} bytes)")
    center.db.dispose()
    return 0


if __name__ == "__main__":
    sys.exit(main())
