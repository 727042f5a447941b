"""Two server processes sharing a Redis of this test's own: a Redis outage must not leave the
boards of the other process without the calls (they resync on the next tick)."""

from __future__ import annotations

import shutil
import subprocess
import threading
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest
import socketio

from tests.live import LiveServer, free_port

#: how soon a board on the other process must show a call, outage or not
WITHIN_SECONDS = 8.0


class OwnRedis:
    """A redis-server on a free port, stopped and started at will (never the shared one)."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.dir = data_dir
        self.proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.dir.mkdir(parents=True, exist_ok=True)
        self.proc = subprocess.Popen(
            ["redis-server", "--port", str(self.port), "--bind", "127.0.0.1", "--save", "",
             "--appendonly", "no", "--dir", str(self.dir)],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 10
        while subprocess.run(["redis-cli", "-p", str(self.port), "ping"], capture_output=True,
                             text=True).stdout.strip() != "PONG":
            assert time.monotonic() < deadline, "redis-server did not start"
            time.sleep(0.05)

    def stop(self) -> None:
        if self.proc is not None:
            self.proc.kill()
            self.proc.wait(timeout=10)
            self.proc = None


@pytest.fixture
def own_redis(tmp_path: Path) -> Iterator[OwnRedis]:
    if shutil.which("redis-server") is None or shutil.which("redis-cli") is None:
        pytest.skip("needs redis-server (Debian package redis-server)")
    r = OwnRedis(tmp_path / "redis")
    r.start()
    yield r
    r.stop()


class SyncingBoard:
    """A board that follows the sync protocol as the board page does: it asks for `sync`
    when a tick is ahead of what it has, and keeps every call it learns of, with the time."""

    def __init__(self, url: str) -> None:
        self.lock = threading.Lock()
        self.epoch: str | None = None
        self.seqs: set[int] = set()
        self.calls: dict[str, float] = {}
        self.syncs = 0
        self.client = socketio.Client(reconnection=False)
        self.client.on("*", self._event)
        self.client.connect(url, auth={"channel": "board"}, transports=["websocket"],
                            wait_timeout=10)

    def upto(self) -> int:
        """The last seq before the first one missing."""
        with self.lock:
            n = min(self.seqs) if self.seqs else 0
            while n + 1 in self.seqs:
                n += 1
            return n

    def _event(self, name: str, msg: Any) -> None:
        if not isinstance(msg, dict):
            return
        if name == "snapshot":
            with self.lock:
                self.epoch = msg["epoch"]
                self.seqs = {msg["seq"]}
                for call in msg.get("recent", []):
                    self.calls.setdefault(call["ticket"]["label"], time.monotonic())
            return
        if name == "tick":
            if msg["epoch"] != self.epoch or msg["seq"] > self.upto():
                self.syncs += 1
                self.client.emit("sync", {"epoch": self.epoch, "seq": self.upto()})
            return
        with self.lock:
            if isinstance(msg.get("seq"), int):
                self.seqs.add(msg["seq"])
            if name == "ticket.called":
                self.calls.setdefault(msg["ticket"]["label"], time.monotonic())

    def wait_for(self, label: str, timeout: float) -> float | None:
        """Seconds from now until the board knows of this call, or None."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            with self.lock:
                if label in self.calls:
                    return self.calls[label]
            time.sleep(0.05)
        return None


@pytest.mark.slow
def test_boards_on_the_other_process_learn_of_calls_through_a_redis_outage(tmp_path,
                                                                           own_redis):
    env = {"LAYSO_MESSAGE_QUEUE": own_redis.url, "LAYSO_SECRET_KEY": "redis-outage-test"}
    data = tmp_path / "shared"
    a, b = LiveServer(data, env=env), LiveServer(data, env=env)
    a.init()
    a.start()
    b.start()
    board = None
    try:
        sup = a.login("lanhdao", "layso-demo")
        for _ in range(6):  # staff issue: no rate limit, so no Redis needed for it
            assert a.api("POST", "/tickets", sup, json={"service": "land"}).status_code == 201
        assert a.api("POST", "/counters/3/open", sup).status_code == 200
        board = SyncingBoard(b.url)

        def call() -> tuple[str, float]:
            r = a.api("POST", "/counters/3/call-next", sup)
            assert r.status_code == 200
            label = r.json()["label"]
            a.api("POST", "/counters/3/start", sup)
            a.api("POST", "/counters/3/complete", sup, json={"outcome": "done"})
            return label, time.monotonic()

        label, at = call()  # Redis up: live through the queue (how fast is for bench/)
        heard = board.wait_for(label, WITHIN_SECONDS)
        assert heard is not None, f"{label} never reached the board with Redis up"
        before = heard - at
        own_redis.stop()
        outage = []
        for _ in range(2):
            label, at = call()
            heard = board.wait_for(label, WITHIN_SECONDS)
            assert heard is not None, f"{label} never reached the board during the outage"
            outage.append(heard - at)
        assert board.syncs >= 1  # learnt from the tick, not from the queue
        own_redis.start()  # back on the same port; b's listener may still be backing off
        after = []
        for _ in range(2):
            label, at = call()
            heard = board.wait_for(label, WITHIN_SECONDS)
            assert heard is not None, f"{label} never reached the board after the outage"
            after.append(heard - at)
        assert board.client.connected
        print(f"board on the other process heard a call {before:.2f} s after it with Redis up, "
              f"calls {outage} s after them during the "
              f"outage and {after} s after it")
    finally:
        if board is not None:
            board.client.disconnect()
        a.kill()
        b.kill()


@pytest.mark.slow
def test_revoking_a_device_closes_its_socket_on_the_other_process(tmp_path, own_redis):
    env = {"LAYSO_MESSAGE_QUEUE": own_redis.url, "LAYSO_SECRET_KEY": "redis-revoke-test"}
    data = tmp_path / "shared"
    a, b = LiveServer(data, env=env), LiveServer(data, env=env)
    a.init()
    token = a.device("Tablet on the other process", "feedback", counter=3)
    a.start()
    b.start()
    closed = threading.Event()
    tablet = socketio.Client(reconnection=False)
    tablet.on("disconnect", lambda *_: closed.set())
    try:
        tablet.connect(b.url, auth={"channel": "feedback", "token": token},
                       transports=["websocket"], wait_timeout=10)
        assert tablet.connected
        adm = a.login("admin", "layso-demo")
        rows = a.api("GET", "/devices", adm).json()["items"]
        device_id = next(d["id"] for d in rows if d["name"] == "Tablet on the other process")
        at = time.monotonic()
        assert a.api("POST", f"/devices/{device_id}/revoke", adm).status_code == 200
        assert closed.wait(WITHIN_SECONDS), "the revoked tablet's socket on process b stayed open"
        print(f"closed on the other process {time.monotonic() - at:.2f} s after the revoke")
    finally:
        if tablet.connected:
            tablet.disconnect()
        a.kill()
        b.kill()
