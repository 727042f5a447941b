"""SIGKILL mid-load: no acknowledged ticket is lost, numbering resumes, the queue is kept."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import requests
from sqlalchemy import create_engine, select

from layso import db
from tests.live import LiveServer
from tests.test_concurrency import backend, database_url, enrol, start_server

pytestmark = pytest.mark.slow
__all__ = ["backend"]  # the fixture, shared with the concurrency tests

SERVICES = ["civil-status", "land", "social"]


def rows_in_database(server: LiveServer) -> dict[int, tuple[str, str]]:
    """Tickets as stored, read from the database itself: id -> (label, state)."""
    url = database_url(server)
    if url.startswith("postgresql://"):
        url = url.replace("postgresql://", "postgresql+psycopg://", 1)
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            return {r.id: (r.label, r.state) for r in conn.execute(
                select(db.tickets.c.id, db.tickets.c.label, db.tickets.c.state)).all()}
    finally:
        engine.dispose()


class Clients:
    """Kiosk threads issuing continuously and keeping every ticket acknowledged with a 201."""

    def __init__(self, server: LiveServer, tokens: list[str]) -> None:
        self.server = server
        self.acked: list[dict[str, Any]] = []
        self.lock = threading.Lock()
        self.stop = threading.Event()
        self.paused = threading.Event()
        self.idle = [threading.Event() for _ in tokens]
        self.threads = [threading.Thread(target=self.run, args=(i, t))
                        for i, t in enumerate(tokens)]

    def run(self, i: int, token: str) -> None:
        s = requests.Session()
        s.headers["Authorization"] = f"Bearer {token}"
        k = 0
        while not self.stop.is_set():
            if self.paused.is_set():
                self.idle[i].set()
                time.sleep(0.01)
                continue
            self.idle[i].clear()
            try:
                r = s.post(self.server.url + "/api/v1/tickets",
                           json={"service": SERVICES[(i + k) % len(SERVICES)]}, timeout=10)
            except requests.RequestException:
                time.sleep(0.01)  # the server is down: that answer never came
                continue
            k += 1
            if r.status_code == 201:
                with self.lock:
                    self.acked.append(r.json())

    def count(self) -> int:
        with self.lock:
            return len(self.acked)

    def wait_for(self, n: int, timeout: float = 60) -> None:
        deadline = time.monotonic() + timeout
        while self.count() < n:
            assert time.monotonic() < deadline, f"only {self.count()} tickets in {timeout} s"
            time.sleep(0.02)

    def pause(self) -> None:
        self.paused.set()
        for e in self.idle:
            assert e.wait(30)

    def resume(self) -> None:
        self.paused.clear()


@pytest.fixture
def crash_server(tmp_path: Path, backend: tuple[str, str | None]) -> Iterator[LiveServer]:
    s = start_server(tmp_path / "live", *backend)
    yield s
    s.kill()


def test_sigkill_loses_no_acknowledged_ticket(crash_server: LiveServer) -> None:
    server = crash_server
    officer = enrol(server, "officer", 1)[0]
    clients = Clients(server, enrol(server, "kiosk", 4))
    for t in clients.threads:
        t.start()
    try:
        clients.wait_for(40)
        clients.pause()  # a quiet moment: the queue as everyone saw it
        before = server.api("GET", "/queue", officer).json()["items"]
        clients.resume()
        have = clients.count()
        clients.wait_for(have + 30)
        server.kill()  # SIGKILL while the kiosks keep pressing
        # answers the server wrote before it died may still be in the sockets' buffers: let
        # them arrive, then nothing more may come
        time.sleep(0.3)
        killed_at = clients.count()
        time.sleep(0.3)
    finally:
        clients.stop.set()
        for t in clients.threads:
            t.join()
    acked = clients.acked
    assert len(acked) == killed_at  # nothing answered once the server was gone

    stored = rows_in_database(server)
    for t in acked:
        assert stored.get(t["id"]) == (t["label"], "waiting"), f"{t['label']} was lost"

    server.start()
    after = server.api("GET", "/queue", officer).json()["items"]
    labels_after = [t["label"] for t in after]
    assert set(labels_after) == {label for label, state in stored.values() if state == "waiting"}
    before_labels = [t["label"] for t in before]
    assert [x for x in labels_after if x in set(before_labels)] == before_labels
    assert {t["label"] for t in acked} <= set(labels_after)

    for service in SERVICES:
        numbers = sorted(int(t["label"][1:]) for t in after if t["service"]["code"] == service)
        assert numbers == list(range(1, len(numbers) + 1)), f"gap or reuse in {service}"
        r = server.api("POST", "/tickets", officer, json={"service": service})
        assert r.status_code == 201
        assert int(r.json()["label"][1:]) == (numbers[-1] if numbers else 0) + 1
