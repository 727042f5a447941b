"""A board, a counter, a phone and a tablet stay connected to a real server for three minutes.

Engine.IO's writer used to close every WebSocket about 45 s (ping interval + ping timeout)
after it opened, when the pings went around its queue; this keeps the four kinds of client on
WebSockets well past that, makes calls all along, and checks nothing dropped or went missing.
"""

from __future__ import annotations

import json
import os
import threading
import time
from typing import Any

import pytest
import socketio
import websocket

SOAK_SECONDS = int(os.environ.get("LAYSO_SOAK_SECONDS", "180"))
#: Engine.IO's defaults (ping interval 25 s + ping timeout 20 s), past which the bug struck
PING_INTERVAL, PING_TIMEOUT = 25, 20


class Watcher:
    """A python-socketio client on WebSocket only that records events and disconnects."""

    def __init__(self, url: str, auth: dict[str, Any]) -> None:
        self.events: list[tuple[str, dict[str, Any]]] = []
        self.disconnects = 0
        self.lock = threading.Lock()
        self.client = socketio.Client(reconnection=False)
        self.client.on("disconnect", self._gone)
        self.client.on("*", self._keep)
        self.client.connect(url, auth=auth, transports=["websocket"], wait_timeout=10)

    def _gone(self, *_args: Any) -> None:
        self.disconnects += 1

    def _keep(self, name: str, data: dict[str, Any]) -> None:
        with self.lock:
            self.events.append((name, data))

    def of(self, name: str) -> list[dict[str, Any]]:
        """The payloads received under one event name, in stream order (the client runs each
        handler on a thread of its own, so they may be recorded out of order)."""
        with self.lock:
            got = [d for n, d in self.events if n == name]
        return sorted(got, key=lambda d: d.get("seq", 0))


def raw_socket_stays_up(url: str, seconds: float, out: dict[str, Any]) -> None:
    """A raw WebSocket board that answers pings; records whether the server closed it."""
    ws = websocket.create_connection(url.replace("http", "ws") +
                                     "/socket.io/?EIO=4&transport=websocket", timeout=5,
                                     origin=url)
    opened = time.monotonic()
    out["pings"] = 0
    try:
        assert ws.recv().startswith("0{")
        ws.send("40" + json.dumps({"channel": "board"}))
        while time.monotonic() - opened < seconds:
            try:
                msg = ws.recv()
            except websocket.WebSocketTimeoutException:
                continue
            if msg == "":  # closed by the server
                break
            if msg == "2":
                out["pings"] += 1
                ws.send("3")
        out["up_for"] = time.monotonic() - opened
        out["connected"] = ws.connected
    except websocket.WebSocketConnectionClosedException:
        out["up_for"] = time.monotonic() - opened
        out["connected"] = False
    finally:
        ws.close()


@pytest.mark.slow
@pytest.mark.minutes
def test_four_clients_stay_connected_three_minutes_and_miss_nothing(live_server):
    srv = live_server
    sup = srv.login("lanhdao", "layso-demo")
    tablet_token = srv.device("Tablet 3", "feedback", counter=3)
    kiosk = srv.device("Kiosk", "kiosk")
    assert srv.api("POST", "/counters/3/open", sup).status_code == 200
    first = srv.api("POST", "/tickets", kiosk, json={"service": "land"}).json()
    mine = srv.api("POST", "/tickets", kiosk, json={"service": "land"}).json()
    # the phone's ticket is called second, then its socket stays quiet: the case that dropped
    for _ in range(12):
        srv.api("POST", "/tickets", kiosk, json={"service": "land"})
    board = Watcher(srv.url, {"channel": "board"})
    counter = Watcher(srv.url, {"channel": "counter", "token": sup})
    phone = Watcher(srv.url, {"channel": "ticket", "ticket": mine["status_url"].rsplit("/", 1)[1]})
    tablet = Watcher(srv.url, {"channel": "feedback", "token": tablet_token})
    raw: dict[str, Any] = {}
    raw_thread = threading.Thread(target=raw_socket_stays_up,
                                  args=(srv.url, PING_INTERVAL + PING_TIMEOUT + 30, raw))
    raw_thread.start()
    clients = (board, counter, phone, tablet)
    calls: list[str] = []
    try:
        started = time.monotonic()
        while time.monotonic() - started < SOAK_SECONDS:
            r = srv.api("POST", "/counters/3/call-next", sup)
            assert r.status_code == 200
            calls.append(r.json()["label"])
            assert srv.api("POST", "/counters/3/start", sup).status_code == 200
            assert srv.api("POST", "/counters/3/complete", sup,
                           json={"outcome": "done"}).status_code == 200
            srv.api("POST", "/tickets", kiosk, json={"service": "land"})
            time.sleep(15)
        time.sleep(1.5)
        raw_thread.join(timeout=30)
        assert all(c.client.connected for c in clients)
        assert [c.disconnects for c in clients] == [0, 0, 0, 0]
        # the raw board outlived ping interval + ping timeout, answering the server's pings
        assert raw["connected"] and raw["up_for"] > PING_INTERVAL + PING_TIMEOUT + 20, raw
        assert raw["pings"] >= 2
        assert calls[0] == first["label"]
        for watcher in (board, counter):
            assert [c["ticket"]["label"] for c in watcher.of("ticket.called")] == calls
            assert len(watcher.of("tick")) >= SOAK_SECONDS // 20 - 1
            seqs = sorted(d["seq"] for n, d in watcher.events if n not in ("snapshot", "tick"))
            start = watcher.of("snapshot")[0]["seq"]
            assert seqs == list(range(start + 1, start + 1 + len(seqs)))  # no gap, no repeat
        assert [c["ticket"]["label"] for c in tablet.of("ticket.called")] == calls
        assert len(tablet.of("ticket.completed")) == len(calls)
        # the phone heard its place shrink with every call, down to zero and its own call
        aheads = [u["ticket"]["ahead"] for u in phone.of("ticket.updated")
                  if u["ticket"]["state"] == "waiting"]
        assert aheads[0] == 1 and aheads[-1] == 0 and aheads == sorted(aheads, reverse=True)
        assert calls[1] == mine["label"]
        assert [c["ticket"]["label"] for c in phone.of("ticket.called")] == [mine["label"]]
        assert {n for n, _d in phone.events} == {"ticket.updated", "ticket.called"}
    finally:
        for c in clients:
            c.client.disconnect()
        raw_thread.join(timeout=60)
