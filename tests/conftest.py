"""Shared fixtures: a temporary data directory and database per test, an app, clients, actors."""

from __future__ import annotations

import os
import shutil
import subprocess
import tempfile
import time
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

#: the least free memory a RAM disk must have for the tests' folders to go there
RAM_DISK_MIN_FREE = 4 << 30


def _temp_on_a_ram_disk(ram_disk: Path = Path("/dev/shm")) -> None:
    """Put every temporary folder of the run (pytest's tmp_path, the prepared databases, the
    live servers' data, the browsers' profiles) on the box's RAM disk, when it has one with room.

    Each SQLite commit is an fsync, and on the virtual disk of a 2-core box the database tests
    spent half their time waiting for it (tests/queue and tests/printer_drivers on two workers:
    64 s on the disk, 33 s in /dev/shm). Nothing in the suite needs its files to outlive the
    machine: a killed server's data survives in /dev/shm as it does on a disk. A TMPDIR the
    runner set is kept, and LAYSO_TEST_TMPDIR=disk keeps the system's temporary folder.
    Passed tests' folders are removed as they finish (setup.cfg), so the memory held stays small.
    Runs at import, in pytest-xdist's controller and workers alike (the workers inherit it), so
    before pytest makes its first temporary folder."""
    if "TMPDIR" in os.environ or os.environ.get("LAYSO_TEST_TMPDIR") == "disk":
        return
    try:
        free = os.statvfs(ram_disk)
    except OSError:
        return
    if free.f_bavail * free.f_frsize < RAM_DISK_MIN_FREE or not os.access(ram_disk, os.W_OK):
        return
    root = ram_disk / f"layso-tests-{os.getuid()}"
    root.mkdir(mode=0o700, exist_ok=True)
    if root.is_symlink() or root.stat().st_uid != os.getuid():
        return  # someone else's folder: stay on the disk
    os.environ["TMPDIR"] = str(root)
    tempfile.tempdir = str(root)


_temp_on_a_ram_disk()


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
    # commits not waiting for the disk: nothing here outlives a crash of PostgreSQL itself
    # (the crash tests kill the server processes, whose commits PostgreSQL holds either way)
    test_url = f"{url}{sep}options=-csearch_path%3D{schema}%20-csynchronous_commit%3Doff"
    EMPTY_SCHEMAS[test_url] = schema
    yield test_url
    EMPTY_SCHEMAS.pop(test_url, None)
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
    prepare_database(url, data_dir, demo)
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
    prepare_database(f"sqlite:///{tmp_path / 'layso.db'}", tmp_path)
    application = create_app(cfg)
    application.config["TESTING"] = True
    yield application
    close_app(application)


def close_app(application: Any) -> None:
    """What a test does with an app it is done with: its realtime tasks end (else each app of
    the run left a tick and a refresh thread behind, reading its database every 20 s, or 2 s
    with a message queue, long after the test) and its database connections close."""
    realtime = application.extensions.get("layso_realtime")
    if realtime is not None:
        realtime.stop()
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


@pytest.hookimpl(wrapper=True)
def pytest_runtest_call(item: pytest.Item) -> Any:
    """Close the browser contexts a test's own body opened and left open (the helpers that
    open a terminal, a tablet or a board return its page). A page left open keeps its clocks,
    animations and reconnecting socket running in the worker's Chromium for the rest of the
    run, on the CPU the next tests need. Fixtures' contexts are theirs to close."""
    b = getattr(item, "funcargs", {}).get("browser")
    before = set(b.contexts) if b is not None else set()
    try:
        return (yield)
    finally:
        if b is not None:
            for ctx in [c for c in b.contexts if c not in before]:
                ctx.close()


@pytest.fixture
def page(browser: Any) -> Iterator[Any]:
    """A fresh browser context and page (1920×1080 by default)."""
    # the pages' CSP enforced, as a real browser has it: wait with `poll` below, not
    # Playwright's wait_for_function (it evaluates a string with eval, which the CSP forbids)
    ctx = browser.new_context(viewport={"width": 1920, "height": 1080}, locale="vi-VN")
    pg = ctx.new_page()
    yield pg
    ctx.close()


DOCS_SCREENSHOTS = Path(__file__).resolve().parent.parent / "docs" / "screenshots"
#: where the browser tests that are not given `screenshot_dir` write: docs/screenshots/ only
#: under `make screenshots`, so a plain test run leaves `git status` clean
#: (one folder per pytest-xdist worker, so two workers never write one file at once)
SHOTS = (DOCS_SCREENSHOTS if os.environ.get("LAYSO_SCREENSHOTS") == "1"
         else Path(tempfile.gettempdir())
         / f"layso-screenshots-{os.environ.get('PYTEST_XDIST_WORKER', 'main')}")


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
        Prepared.cheap = False
        yield
        return
    from argon2 import PasswordHasher

    from layso import auth

    previous = auth.set_password_hasher(
        PasswordHasher(time_cost=1, memory_cost=8, parallelism=1))
    Prepared.cheap = True
    try:
        yield
    finally:
        Prepared.cheap = False
        auth.set_password_hasher(previous)


# -- waiting in a page under its real CSP --------------------------------------------------------

def poll(page: Any, expr: str, timeout: float = 30, every: float = 0.05) -> Any:
    """Wait until a JavaScript expression is truthy in the page, and return its value.

    Playwright's wait_for_function evaluates its string with eval, which the pages' CSP rightly
    forbids; page.evaluate goes through the DevTools protocol, so this works with the CSP
    enforced (no bypass_csp needed)."""
    deadline = time.monotonic() + timeout
    while True:
        value = page.evaluate(expr)
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"{expr} never became true within {timeout} s")
        time.sleep(every)


# -- a migrated database per worker, copied for each test ----------------------------------------

#: the PostgreSQL schemas `_pg_database` made that nothing has written yet, by test URL
EMPTY_SCHEMAS: dict[str, str] = {}


class Prepared:
    """`init_db` once per test worker (per kind of database, demo or not), then a copy for each
    test: migrating and seeding took most of a domain test's time (0.3–0.7 s against 5 ms for a
    SQLite file copy). On PostgreSQL each test keeps a schema of its own: the worker migrates
    one, keeps `pg_dump`'s SQL for it, and replays that SQL (tables, sequences, constraints,
    indexes and rows, renamed to the test's schema) into each test's empty schema in one round
    trip: 0.07 s against 0.25–0.6 s for the migrations. A database per test copied from a
    template (CREATE DATABASE … TEMPLATE) cost the server more than migrating.

    Only while the cheap password hasher is in force (the template's demo users are hashed with
    it); a test marked `passwords` runs `init_db` itself."""

    cheap = False

    def __init__(self) -> None:
        self.root: Path | None = None  # made at first use (not in xdist's controller)
        self.sqlite: dict[bool, Path] = {}
        #: per kind, the SQL that makes the migrated schema (its name left as PG_SCHEMA_MARK)
        #: and the data directory init_db wrote beside it; None when pg_dump cannot do it
        self.pg: dict[bool, tuple[str, Path] | None] = {}

    def _dir(self, name: str) -> Path:
        """A new folder (a new one each time: a test may have made init_db fail in one)."""
        if self.root is None:
            self.root = Path(tempfile.mkdtemp(prefix="layso-prepared-"))
        return Path(tempfile.mkdtemp(prefix=name + "-", dir=self.root))

    def lay(self, url: str, data_dir: Path, demo: bool) -> bool:
        """Put a copy of the migrated (demo) database at `url`, a SQLite file in `data_dir`
        not made yet or a PostgreSQL schema of `_pg_database` nothing wrote yet; False when
        it cannot."""
        if not Prepared.cheap:
            return False
        schema = EMPTY_SCHEMAS.pop(url, None)
        if schema is not None:  # from now on the schema is not empty, whatever happens
            return self._lay_pg(schema, data_dir, demo)
        if url != f"sqlite:///{data_dir / 'layso.db'}" or (data_dir / "layso.db").exists():
            return False
        if demo not in self.sqlite:
            made = self._dir(f"demo-{int(demo)}")
            init_db(load({"DATA_DIR": str(made)}), demo=demo)
            self.sqlite[demo] = made
        data_dir.mkdir(parents=True, exist_ok=True)
        for f in self.sqlite[demo].iterdir():  # the database and the demo devices' tokens
            shutil.copy2(f, data_dir / f.name)
        return True

    def _lay_pg(self, schema: str, data_dir: Path, demo: bool) -> bool:
        if data_dir.exists() and any(data_dir.iterdir()):
            return False  # init_db would find files of an earlier init there
        if demo not in self.pg:
            self.pg[demo] = self._dump_pg(demo)
        made = self.pg[demo]
        if made is None or PG_URL is None:
            return False
        sql, files = made
        import psycopg

        with psycopg.connect(PG_URL) as conn:  # one transaction, committed on leaving
            conn.execute(sql.replace(PG_SCHEMA_MARK, schema))
        data_dir.mkdir(parents=True, exist_ok=True)
        for f in files.iterdir():  # the demo devices' tokens, whose hashes the rows hold
            shutil.copy2(f, data_dir / f.name)
        return True

    def _dump_pg(self, demo: bool) -> tuple[str, Path] | None:
        """Migrate (and seed) a schema of this worker's, and keep pg_dump's SQL for it."""
        if not PG_URL or shutil.which("pg_dump") is None:
            return None
        made = self._dir(f"pg-demo-{int(demo)}")
        schemas = _pg_database(PG_URL)
        url = next(schemas)
        schema = EMPTY_SCHEMAS.pop(url)
        try:
            init_db(load({"DATA_DIR": str(made), "DATABASE_URL": url}), demo=demo)
            out = subprocess.run(["pg_dump", "--schema", schema, "--inserts", "--no-owner",
                                  "--no-privileges", PG_URL], capture_output=True, text=True,
                                 timeout=120)
        finally:
            next(schemas, None)  # dropped
        if out.returncode != 0:
            return None
        # psql's meta-commands (\restrict) and the schema itself, which the test's exists
        lines = [line for line in out.stdout.splitlines() if not line.startswith("\\")
                 and line != f"CREATE SCHEMA {schema};"]
        return "\n".join(lines).replace(schema, PG_SCHEMA_MARK), made

    def drop(self) -> None:
        if self.root is not None:
            shutil.rmtree(self.root, ignore_errors=True)


PG_SCHEMA_MARK = "layso_prepared_schema_name"
PREPARED = Prepared()


@pytest.fixture(scope="session", autouse=True)
def prepared_databases() -> Iterator[Prepared]:
    """This worker's migrated databases, dropped when its session ends."""
    yield PREPARED
    PREPARED.drop()


def prepare_database(url: str, data_dir: Path, demo: bool = True) -> None:
    """What `layso init [--demo]` makes, at `url`: a copy of this worker's when it can."""
    if not PREPARED.lay(url, data_dir, demo):
        init_db(load({"DATA_DIR": str(data_dir), "DATABASE_URL": url}), demo=demo)


# -- the order of the tests under pytest-xdist ---------------------------------------------------

#: what a test costs a worker, roughly, by its marker (seconds, measured on the 2-core box):
#: the order below only needs the proportions
WEIGHTS = {"minutes": 180.0, "slow": 6.0, "browser": 3.0}
LIGHT = 0.2


def pytest_xdist_auto_num_workers(config: pytest.Config) -> int:
    """`-n auto`: two workers per core. The suite waits on its servers, browsers, sleeps and
    the disk more than it computes (one worker per core kept a 2-core box a third busy), and
    the three-minute soak holds a worker the whole time while hardly using it.
    PYTEST_XDIST_AUTO_NUM_WORKERS still decides when set."""
    env = os.environ.get("PYTEST_XDIST_AUTO_NUM_WORKERS")
    if env and env.isdigit():
        return int(env)
    return 2 * len(os.sched_getaffinity(0))


def pytest_xdist_make_scheduler(config: pytest.Config, log: Any) -> Any:
    """`-n` without `--dist`: pytest-xdist's work-stealing scheduler. It hands each worker one
    contiguous block of the order below and lets an idle worker take the tail of the longest
    queue, where the default `load` mode fills workers in small chunks and leaves the last
    long tests queued behind one worker."""
    if config.getoption("dist") != "load":
        return None  # an explicit --dist other than load: pytest-xdist's own
    from xdist.scheduler import WorkStealingScheduling

    return WorkStealingScheduling(config, log)


def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """Under pytest-xdist (`make test`), order the tests so each worker's block (the
    work-stealing scheduler gives worker k the k-th of equal slices) starts with its share of
    the long tests: the soak first on one worker, the files of server and browser tests dealt
    out to the lightest block, whole (a module's server fixture starts once), then the quick
    tests in file order fill every block to its size; a worker that runs dry steals quick
    tests from the tail of another's. A serial run keeps file order.

    (pytest-xdist's `xdist_group` cannot keep tests together with pytest 9: its loadgroup mode
    renames the items through a private attribute pytest 9 no longer reads.)"""
    count = int(os.environ.get("PYTEST_XDIST_WORKER_COUNT", "0") or 0)
    if not os.environ.get("PYTEST_XDIST_WORKER") or count < 2:
        return

    def weight(item: pytest.Item) -> float:
        for marker, w in WEIGHTS.items():
            if item.get_closest_marker(marker) is not None:
                return w
        return LIGHT

    groups: dict[str, list[pytest.Item]] = {}
    light: list[pytest.Item] = []
    for item in items:
        if weight(item) > LIGHT:
            groups.setdefault(item.nodeid.split("::", 1)[0], []).append(item)
        else:
            light.append(item)
    blocks: list[list[pytest.Item]] = [[] for _ in range(count)]
    load = [0.0] * count
    # heaviest file first to the least loaded block: the soak's file alone on block 0, and so on
    for group in sorted(groups.values(), key=lambda g: -sum(weight(i) for i in g)):
        k = load.index(min(load))
        group.sort(key=lambda i: -weight(i))  # within a file the longest first (stable)
        blocks[k].extend(group)
        load[k] += sum(weight(i) for i in group)
    # the scheduler's slices: len(pending) // nodes_remaining items each, in worker order
    sizes, left = [], len(items)
    for k in range(count):
        sizes.append(left // (count - k))
        left -= sizes[-1]
    at = 0
    for k in range(count):
        take = max(0, sizes[k] - len(blocks[k]))
        blocks[k].extend(light[at:at + take])
        at += take
    blocks[-1].extend(light[at:])  # only if a block of long tests outgrew its slice
    items[:] = [item for block in blocks for item in block]  # the same on every worker


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


@pytest.fixture
def counter4(browser: Any, live_server: Any) -> Iterator[Any]:
    """Counter 4 of a live server with its feedback tablet enrolled in Chromium."""
    from tests.counter.browser import TabletAtCounter4

    c = TabletAtCounter4(browser, live_server)
    yield c
    c.tablet.context.close()
