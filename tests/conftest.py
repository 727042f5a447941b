"""Shared fixtures: a temporary data directory and database per test, an app, clients, actors."""

from __future__ import annotations

import os
import tempfile
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from sqlalchemy import create_engine, text

from layso import create_app
from layso.cli import init_db
from layso.config import load
from layso.db import Database
from layso.events import Hub
from layso.queue import SYSTEM, Actor, Center, catalog

PG_URL = os.environ.get("LAYSO_TEST_DATABASE_URL")
REDIS_URL = os.environ.get("LAYSO_TEST_REDIS_URL")


class Clock:
    """A settable clock for tests: starts on a weekday morning in Vietnam."""

    def __init__(self, start: datetime | None = None) -> None:
        self.now = start or datetime(2026, 11, 25, 1, 30, tzinfo=UTC)  # 08:30 in Hà Nội

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **kw: float) -> None:
        """Move the clock forward."""
        self.now += timedelta(**kw)


def _pg_database(base_url: str) -> Iterator[str]:
    """A fresh PostgreSQL schema for one test, dropped afterwards."""
    schema = "t_" + uuid.uuid4().hex[:12]
    url = base_url
    admin = create_engine(url.replace("postgresql://", "postgresql+psycopg://", 1))
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    sep = "&" if "?" in url else "?"
    yield f"{url}{sep}options=-csearch_path%3D{schema}"
    with admin.begin() as conn:
        conn.execute(text(f'DROP SCHEMA "{schema}" CASCADE'))
    admin.dispose()


@pytest.fixture(params=["sqlite", "postgresql"])
def db_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """Each domain test runs on SQLite and on PostgreSQL (when LAYSO_TEST_DATABASE_URL is set)."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'layso.db'}"
        return
    if not PG_URL:
        pytest.skip("PostgreSQL tests need LAYSO_TEST_DATABASE_URL (e.g. "
                    "postgresql://postgres@127.0.0.1:5432/test)")
    yield from _pg_database(PG_URL)


@pytest.fixture
def sqlite_url(tmp_path: Path) -> str:
    """A SQLite database in this test's data directory."""
    return f"sqlite:///{tmp_path / 'layso.db'}"


@pytest.fixture
def clock() -> Clock:
    """The test clock."""
    return Clock()


def make_center(url: str, data_dir: Path, clock: Clock, demo: bool = True) -> Center:
    """Migrate, seed the demo center, and return a Center on the given clock."""
    cfg = load({"DATA_DIR": str(data_dir), "DATABASE_URL": url})
    init_db(cfg, demo=demo)
    return Center(Database(url, clock=clock), Hub(), public_url="http://layso.test")


@pytest.fixture
def center(db_url: str, tmp_path: Path, clock: Clock) -> Iterator[Center]:
    """The demo center on each database."""
    c = make_center(db_url, tmp_path, clock)
    yield c
    c.db.dispose()


@pytest.fixture
def officers(center: Center) -> dict[str, Actor]:
    """Officers and a supervisor in the center."""
    from layso import auth

    out = {}
    with center.db.write() as conn:
        for name, role in (("o1", "officer"), ("o2", "officer"), ("o3", "officer"),
                           ("o4", "officer"), ("o5", "officer"), ("sup", "supervisor")):
            uid = auth.add_user(conn, name, "password-" + name, role, name.upper())
            out[name] = Actor(kind="user", id=uid, role=role, name=name.upper())
    return out


@pytest.fixture
def kiosk_actor() -> Actor:
    """A kiosk as the domain sees it."""
    return Actor(kind="device", id=None, role="kiosk")


@pytest.fixture
def app(tmp_path: Path, clock: Clock) -> Any:
    """The Flask app on a fresh SQLite demo database in this test's data directory."""
    cfg = {"DATA_DIR": str(tmp_path), "CLOCK": clock, "PUBLIC_URL": "http://layso.test",
           "SECRET_KEY": "test-secret"}
    init_db(load(cfg), demo=True)
    application = create_app(cfg)
    application.config["TESTING"] = True
    yield application
    application.extensions["layso"].db.dispose()


@pytest.fixture
def client(app: Any) -> Any:
    """A Flask test client."""
    return app.test_client()


class Api:
    """A small JSON client over the Flask test client with bearer tokens."""

    def __init__(self, client: Any, token: str | None = None) -> None:
        self.client = client
        self.token = token

    def _headers(self, extra: dict[str, str] | None = None) -> dict[str, str]:
        h = {"Authorization": f"Bearer {self.token}"} if self.token else {}
        h.update(extra or {})
        return h

    def get(self, path: str, **kw: Any) -> Any:
        return self.client.get("/api/v1" + path, headers=self._headers(kw.pop("headers", None)),
                               **kw)

    def post(self, path: str, json: Any = None, **kw: Any) -> Any:
        return self.client.post("/api/v1" + path, json=json,
                                headers=self._headers(kw.pop("headers", None)), **kw)


@pytest.fixture
def tokens(app: Any) -> dict[str, str]:
    """Bearer tokens: kiosk, display, feedback (counter 1), officers o1/o2, supervisor, admin."""
    from layso import auth, db

    center: Center = app.extensions["layso"]
    out = {}
    with center.db.write() as conn:
        cid = conn.execute(db.counters.select().where(db.counters.c.number == 1)).first().id
        out["kiosk"] = auth.add_device(conn, "Kiosk 1", "kiosk")
        out["display"] = auth.add_device(conn, "Board 1", "display")
        out["feedback"] = auth.add_device(conn, "Tablet 1", "feedback", cid)
        for name, role in (("o1", "officer"), ("o2", "officer"), ("sup", "supervisor"),
                           ("adm", "admin")):
            uid = auth.add_user(conn, name, "password-" + name, role, name.upper())
            out[name] = auth.issue_user_token(conn, uid, 12)
    return out


@pytest.fixture
def api(client: Any, tokens: dict[str, str]) -> dict[str, Api]:
    """An API client per actor, plus 'anon'."""
    out = {k: Api(client, v) for k, v in tokens.items()}
    out["anon"] = Api(client)
    return out


__all__ = ["SYSTEM", "Clock", "catalog", "make_center"]


CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--no-sandbox", "--headless", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update",
                 "--no-first-run", "--disable-sync",
                 "--autoplay-policy=no-user-gesture-required"]


@pytest.fixture
def live_server(tmp_path: Path) -> Iterator[Any]:
    """A real server process on a free port with the demo center."""
    from tests.live import LiveServer

    server = LiveServer(tmp_path / "live")
    server.init()
    server.start()
    yield server
    server.kill()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (never a downloaded browser)."""
    if not Path(CHROMIUM).exists():
        pytest.skip("browser tests need Debian's Chromium: apt-get install -y chromium")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        b = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield b
        b.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context and page (1920×1080 by default)."""
    # bypass_csp: Playwright's wait_for_function evaluates its string in the page, which the
    # pages' CSP forbids; tests/test_csp_browser.py runs the pages with the CSP enforced
    ctx = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="vi-VN",
                              bypass_csp=True)
    pg = ctx.new_page()
    yield pg
    ctx.close()


DOCS_SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
#: where the browser tests that are not given `screenshot_dir` write: docs/screenshots/ only
#: under `make screenshots`, so a plain test run leaves `git status` clean
SHOTS = (DOCS_SCREENSHOTS if os.environ.get("LAYSO_SCREENSHOTS") == "1"
         else Path(tempfile.gettempdir()) / "layso-screenshots")


@pytest.fixture
def screenshot_dir(tmp_path: Path) -> Path:
    """Where a browser test writes its screenshots: docs/screenshots/ under `make screenshots`
    (LAYSO_SCREENSHOTS=1), else this test's temporary folder, so a test run changes no file."""
    if os.environ.get("LAYSO_SCREENSHOTS") == "1":
        DOCS_SCREENSHOTS.mkdir(parents=True, exist_ok=True)
        return DOCS_SCREENSHOTS
    out = tmp_path / "screenshots"
    out.mkdir(exist_ok=True)
    return out


@pytest.fixture(autouse=True)
def cheap_passwords(request: pytest.FixtureRequest) -> Iterator[None]:
    """Argon2id at its lowest cost, so seeding a center's users takes no time; a test marked
    `passwords` keeps the real parameters (the ones that test hashing itself)."""
    if request.node.get_closest_marker("passwords") is not None:
        yield
        return
    from argon2 import PasswordHasher

    from layso import auth

    previous = auth.set_password_hasher(
        PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    try:
        yield
    finally:
        auth.set_password_hasher(previous)


# -- citizens' ID cards and dossiers (tests/kiosk/test_citizens_browser.py, test_camera_browser.py)

@pytest.fixture
def citizen_server(tmp_path: Path) -> Iterator[Any]:
    """A live server printing to a folder, with one number per citizen per service and day,
    and the certification service taking result pickups."""
    from tests.live import LiveServer

    s = LiveServer(tmp_path / "live", env={"LAYSO_PRINTER": f"dir://{tmp_path}/tickets"})
    s.init()
    s.start()
    admin = s.login("admin", "layso-demo")
    r = s.api("PATCH", "/center", admin,
              json={"citizen_daily_limit": 1, "result_service": "certification"})
    assert r.status_code == 200, r.text
    yield s
    s.kill()
