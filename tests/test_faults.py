"""Storage faults answer a clear 503 everywhere, health says what is wrong, and the center
recovers without a restart (issue 16, point 8)."""

from __future__ import annotations

import errno
from collections.abc import Iterator
from typing import Any
from urllib.parse import urlsplit

import pytest
from sqlalchemy import event
from sqlalchemy.engine import Engine

from layso import auth, db
from tests.conftest import PG_URL, Api, _pg_database
from tests.faults import TcpRelay


def err(r: Any) -> dict[str, Any]:
    return r.get_json()["error"]


class DiskCap:
    """SQLite's max_page_count at the database's current size: the next page it needs is
    SQLITE_FULL, "database or disk is full", exactly what a full disk answers."""

    def __init__(self, database: db.Database) -> None:
        self.database = database

    @staticmethod
    def _cap(dbapi_conn: Any, _record: Any) -> None:
        cur = dbapi_conn.cursor()
        pages = cur.execute("PRAGMA page_count").fetchone()[0]
        cur.execute(f"PRAGMA max_page_count = {pages}")
        cur.close()

    def __enter__(self) -> DiskCap:
        event.listen(Engine, "connect", self._cap)
        self.database.dispose()  # new connections take the cap
        return self

    def __exit__(self, *_exc: Any) -> None:
        event.remove(Engine, "connect", self._cap)
        self.database.dispose()


def issue(api: dict[str, Any]) -> Any:
    return api["kiosk"].post("/tickets", {"service": "civil-status"})


def test_a_full_disk_answers_503_and_health_says_so_until_space_is_freed(
        app: Any, api: dict[str, Any]) -> None:
    assert issue(api).status_code == 201
    database = app.extensions["layso"].db
    with DiskCap(database):
        for _ in range(50):  # until the free pages are used up (under the kiosk's limit)
            r = issue(api)
            if r.status_code != 201:
                break
        assert r.status_code == 503 and err(r)["code"] == "storage_unavailable"
        assert err(r)["details"]["fault"] == "disk_full" and r.headers["Retry-After"]
        # a later write is a 503 too, never a 500
        assert issue(api).status_code == 503
        h = api["anon"].get("/health")
        assert h.status_code == 503
        body = h.get_json()
        assert body["ok"] is False and body["disk"] == "full" and body["db"] == "read_only"
        assert body["fault"]["code"] == "disk_full"
        # reads still work: the board keeps showing the room
        assert api["anon"].get("/board").status_code == 200
        # a write that needs no new page may still pass; none answers 500
        assert api["o1"].post("/counters/1/open").status_code in (200, 503)
    # space freed: the next ticket is issued, with no restart, and health is well again
    assert issue(api).status_code == 201
    h = api["anon"].get("/health").get_json()
    assert h["ok"] is True and h["db"] == "ok" and h["disk"] == "ok" and "fault" not in h


def test_health_warns_when_the_disk_runs_low(app: Any, monkeypatch: pytest.MonkeyPatch) -> None:
    import shutil
    from collections import namedtuple

    usage = namedtuple("usage", "total used free")
    client = app.test_client()
    monkeypatch.setattr(shutil, "disk_usage", lambda _p: usage(10**10, 10**10, 50 * 2**20))
    h = client.get("/api/v1/health")
    assert h.status_code == 200 and h.get_json()["disk"] == "low"
    monkeypatch.setattr(shutil, "disk_usage", lambda _p: usage(10**10, 10**10, 2**20))
    h = client.get("/api/v1/health")
    assert h.status_code == 503 and h.get_json()["disk"] == "full"


def test_an_os_error_of_a_full_disk_is_a_503_and_other_errors_stay_500(app: Any) -> None:
    @app.post("/api/v1/test-enospc")
    def enospc() -> Any:
        raise OSError(errno.ENOSPC, "No space left on device")

    @app.post("/api/v1/test-bug")
    def bug() -> Any:
        raise OSError(errno.ENOENT, "a bug")

    app.config["TESTING"] = False
    client = app.test_client()
    r = client.post("/api/v1/test-enospc")
    assert r.status_code == 503 and err(r)["code"] == "storage_unavailable"
    r = client.post("/api/v1/test-bug")
    assert r.status_code == 500 and err(r)["code"] == "internal_error"


def test_a_page_during_a_fault_tells_the_citizen_to_see_the_help_desk(app: Any) -> None:
    @app.get("/kiosk/test-full")
    def full() -> Any:
        raise OSError(errno.ENOSPC, "No space left on device")

    r = app.test_client().get("/kiosk/test-full")
    assert r.status_code == 503 and "bàn hướng dẫn" in r.get_data(as_text=True)
    assert "help desk" in r.get_data(as_text=True)


# -- a stopped PostgreSQL ---------------------------------------------------------------------

@pytest.fixture
def pg_app(tmp_path: Any, clock: Any) -> Iterator[tuple[Any, TcpRelay, dict[str, Api]]]:
    """The demo center on PostgreSQL reached through a relay the test can stop."""
    if not PG_URL:
        pytest.skip("needs LAYSO_TEST_DATABASE_URL")
    from layso import create_app
    from layso.cli import init_db
    from layso.config import load

    target = urlsplit(PG_URL)
    relay = TcpRelay(target.hostname or "127.0.0.1", target.port or 5432).start()
    for url in _pg_database(PG_URL):
        url = url.replace(f"{target.hostname}:{target.port or 5432}", f"127.0.0.1:{relay.port}")
        cfg = {"DATA_DIR": str(tmp_path), "CLOCK": clock, "DATABASE_URL": url,
               "SECRET_KEY": "test-secret"}
        init_db(load(cfg), demo=True)
        app = create_app(cfg)
        center = app.extensions["layso"]
        with center.db.write() as conn:
            kiosk = auth.add_device(conn, "Kiosk", "kiosk")
            uid = auth.add_user(conn, "o1", "password-o1", "officer")
            officer = auth.issue_user_token(conn, uid, 12)
        client = app.test_client()
        apis = {"kiosk": Api(client, kiosk), "o1": Api(client, officer), "anon": Api(client)}
        try:
            yield app, relay, apis
        finally:
            relay.stop()
            relay.start()
            center.db.dispose()
            relay.stop()


def test_a_stopped_postgresql_answers_503_everywhere_and_recovers(
        pg_app: tuple[Any, TcpRelay, dict[str, Api]]) -> None:
    app, relay, api = pg_app
    assert issue(api).status_code == 201
    relay.stop()
    for r in (issue(api), api["anon"].get("/board"), api["anon"].get("/services"),
              api["o1"].post("/counters/1/open"),
              api["anon"].post("/auth/login", {"username": "o1", "password": "password-o1"})):
        assert r.status_code == 503, (r.request.path, r.get_data(as_text=True)[:200])
        assert err(r)["code"] == "storage_unavailable"
        assert err(r)["details"]["fault"] == "db_unavailable"
    h = api["anon"].get("/health")
    assert h.status_code == 503 and h.get_json()["db"] == "down"
    relay.start()
    assert api["anon"].get("/health").status_code == 200
    r = issue(api)
    assert r.status_code == 201 and r.get_json()["label"] == "A002"
