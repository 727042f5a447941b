"""Concurrency against real server processes: unique gap-free numbers, one call per ticket.

Each test runs on SQLite and, when LAYSO_TEST_DATABASE_URL is set, on PostgreSQL.
"""

from __future__ import annotations

import multiprocessing
import threading
from collections import defaultdict
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests

from layso import auth
from layso.db import Database
from tests.conftest import PG_URL, _pg_database
from tests.live import LiveServer

pytestmark = pytest.mark.slow
FAST_KIOSKS = {"LAYSO_KIOSK_RATE_PER_MINUTE": "100000"}


def database_url(server: LiveServer) -> str:
    """The database a live server uses."""
    return server.env.get("LAYSO_DATABASE_URL") or f"sqlite:///{server.data_dir / 'layso.db'}"


def enrol(server: LiveServer, kind: str, count: int) -> list[str]:
    """Tokens for `count` new devices of a kind, or officers (kind 'officer'), written directly."""
    database = Database(database_url(server))
    out = []
    try:
        with database.write() as conn:
            for i in range(count):
                if kind == "officer":
                    name = f"officer{i}-{len(out)}-{id(out) % 10000}"
                    uid = auth.add_user(conn, name, "password-123", "officer", name)
                    out.append(auth.issue_user_token(conn, uid, 12))
                else:
                    out.append(auth.add_device(conn, f"{kind} {i}", kind))
    finally:
        database.dispose()
    return out


def start_server(data_dir: Path, backend: str, url: str | None,
                 env: dict[str, str] | None = None) -> LiveServer:
    """A live demo server on SQLite in data_dir, or on the given PostgreSQL URL."""
    extra = {**FAST_KIOSKS, **(env or {})}
    if backend == "postgresql":
        extra["LAYSO_DATABASE_URL"] = str(url)
    server = LiveServer(data_dir, env=extra)
    server.init()
    return server.start()


@pytest.fixture(params=["sqlite", "postgresql"])
def backend(request: pytest.FixtureRequest) -> Iterator[tuple[str, str | None]]:
    """('sqlite', None) or ('postgresql', a fresh schema's URL)."""
    if request.param == "sqlite":
        yield "sqlite", None
        return
    if not PG_URL:
        pytest.skip("PostgreSQL tests need LAYSO_TEST_DATABASE_URL (e.g. "
                    "postgresql://postgres@127.0.0.1:5432/test)")
    yield from (("postgresql", url) for url in _pg_database(PG_URL))


@pytest.fixture
def server(tmp_path: Path, backend: tuple[str, str | None]) -> Iterator[LiveServer]:
    """A live server on the backend."""
    s = start_server(tmp_path / "live", *backend)
    yield s
    s.kill()


def issue_many(url: str, token: str, services: list[str], n: int) -> list[dict[str, Any]]:
    """Issue n tickets over one keep-alive session, cycling through services."""
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {token}"
    out = []
    for i in range(n):
        r = s.post(url + "/api/v1/tickets", json={"service": services[i % len(services)]},
                   timeout=60)
        assert r.status_code == 201, r.text
        out.append(r.json())
    return out


def _process_issue(args: tuple[str, str, list[str], int]) -> list[tuple[str, str, int]]:
    """A separate OS process: issue tickets, return (service, label, id)."""
    url, token, services, n = args
    return [(t["service"]["code"], t["label"], t["id"])
            for t in issue_many(url, token, services, n)]


def assert_gap_free(labels_by_service: dict[str, list[str]]) -> None:
    """Per service: no label twice, and numbers 1..N with none missing."""
    for service, labels in labels_by_service.items():
        assert len(labels) == len(set(labels)), f"duplicate numbers in {service}"
        numbers = sorted(int(label.lstrip("ABCDEF")) for label in labels)
        assert numbers == list(range(1, len(numbers) + 1)), f"gap in {service}: {numbers}"


def run_threads(fn: Any, args: list[tuple[Any, ...]]) -> list[Any]:
    """Run fn(*a) for each a in its own thread, all started together; their results."""
    results: list[Any] = [None] * len(args)
    errors: list[BaseException] = []
    go = threading.Barrier(len(args))

    def run(i: int) -> None:
        go.wait()
        try:
            results[i] = fn(*args[i])
        except BaseException as exc:  # reported in the test thread
            errors.append(exc)

    threads = [threading.Thread(target=run, args=(i,)) for i in range(len(args))]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise errors[0]
    return results


def by_service(tickets: list[dict[str, Any]]) -> dict[str, list[str]]:
    """Labels grouped by service code."""
    out: dict[str, list[str]] = defaultdict(list)
    for t in tickets:
        out[t["service"]["code"]].append(t["label"])
    return out


def test_eight_threads_issue_unique_gap_free_numbers(server: LiveServer) -> None:
    kiosks = enrol(server, "kiosk", 8)
    got = run_threads(issue_many, [(server.url, k, ["land", "social"], 30) for k in kiosks])
    tickets = [t for part in got for t in part]
    assert len(tickets) == 240 and len({t["id"] for t in tickets}) == 240
    groups = by_service(tickets)
    assert set(groups) == {"land", "social"}
    assert_gap_free(groups)


def test_four_processes_issue_unique_gap_free_numbers(server: LiveServer) -> None:
    kiosks = enrol(server, "kiosk", 4)
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(4) as pool:
        got = pool.map(_process_issue, [(server.url, k, ["civil-status", "business"], 40)
                                        for k in kiosks])
    rows = [r for part in got for r in part]
    assert len(rows) == 160 and len({r[2] for r in rows}) == 160
    groups: dict[str, list[str]] = defaultdict(list)
    for service, label, _id in rows:
        groups[service].append(label)
    assert_gap_free(groups)


SERVED_BY = {"civil-status": 20, "certification": 20, "land": 12, "social": 10,
             "business": 10, "online-help": 10}


def serve_counter(url: str, token: str, number: int) -> list[str]:
    """Open a counter, then call-next, start and complete until nothing waits."""
    s = requests.Session()
    s.headers["Authorization"] = f"Bearer {token}"
    base = f"{url}/api/v1/counters/{number}"
    assert s.post(base + "/open", timeout=60).status_code == 200
    called = []
    while True:
        r = s.post(base + "/call-next", timeout=60)
        if r.status_code == 204:
            return called
        assert r.status_code == 200, r.text
        called.append(r.json()["label"])
        assert s.post(base + "/start", timeout=60).status_code == 200
        r = s.post(base + "/complete", json={"outcome": "done"}, timeout=60)
        assert r.status_code == 200, r.text


def test_five_counters_never_call_a_ticket_twice(server: LiveServer) -> None:
    staff = enrol(server, "officer", 6)
    issued = []
    for service, n in SERVED_BY.items():
        issued += [t["label"] for t in issue_many(server.url, staff[5], [service], n)]
    got = run_threads(serve_counter, [(server.url, staff[i], i + 1) for i in range(5)])
    called = [label for part in got for label in part]
    assert len(called) == len(set(called)), "a ticket was called twice"
    assert sorted(called) == sorted(issued), "every ticket is called exactly once"
    assert all(got), "every counter served someone"
    assert server.api("GET", "/queue", staff[5]).json()["items"] == []


def test_two_server_processes_on_one_database(tmp_path: Path,
                                              backend: tuple[str, str | None]) -> None:
    first = start_server(tmp_path / "live", *backend)
    second = LiveServer(first.data_dir, env=first.env).start()
    try:
        kiosks = enrol(first, "kiosk", 6)
        urls = [first.url, second.url] * 3
        got = run_threads(issue_many, [(u, k, ["land", "online-help"], 30)
                                       for u, k in zip(urls, kiosks, strict=True)])
        tickets = [t for part in got for t in part]
        assert len(tickets) == 180
        assert_gap_free(by_service(tickets))
        staff = enrol(first, "officer", 2)
        got = run_threads(serve_counter, [(first.url, staff[0], 3), (second.url, staff[1], 5)])
        called = [label for part in got for label in part]
        assert len(called) == len(set(called))
        assert sorted(called) == sorted(t["label"] for t in tickets)
    finally:
        second.kill()
        first.kill()
