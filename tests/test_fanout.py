"""Direct WebSocket sends (layso/fanout.py) against a real threaded server in this process."""

from __future__ import annotations

import base64
import json
import os
import socket
import threading
import time
from collections.abc import Iterator
from typing import Any

import pytest
import socketio
from werkzeug.serving import make_server

from layso.realtime import STREAM


@pytest.fixture
def served(app: Any) -> Iterator[tuple[str, Any]]:
    """The app on a threaded werkzeug server (simple-websocket's werkzeug mode)."""
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", app.extensions["layso_realtime"]
    finally:
        server.shutdown()


def directs(rt: Any) -> dict[str, str]:
    """Engine.IO sid → the direct-send state of each connected socket."""
    eio = rt.socketio.server.eio
    return {sid: getattr(getattr(s, "_layso_direct", None), "state", "none")
            for sid, s in list(eio.sockets.items())}


class RawBoard:
    """A board socket over a plain TCP socket that reads only when told to."""

    def __init__(self, url: str, rcvbuf: int | None = None) -> None:
        host, port = url.removeprefix("http://").split(":")
        self.sock = socket.socket()
        if rcvbuf:
            self.sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, rcvbuf)
        self.sock.connect((host, int(port)))
        key = base64.b64encode(os.urandom(16)).decode()
        self.sock.sendall((f"GET /socket.io/?EIO=4&transport=websocket HTTP/1.1\r\n"
                           f"Host: {host}:{port}\r\nOrigin: {url}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           f"Sec-WebSocket-Version: 13\r\n\r\n").encode())
        self.buf = b""
        while b"\r\n\r\n" not in self.buf:
            self.buf += self.sock.recv(4096)
        head, self.buf = self.buf.split(b"\r\n\r\n", 1)
        assert b" 101 " in head.split(b"\r\n", 1)[0], head
        assert self.message().startswith("0{")  # Engine.IO open
        self.send("40" + json.dumps({"channel": "board"}))
        self.events: list[tuple[str, Any]] = []

    def send(self, text: str) -> None:
        data, mask = text.encode(), os.urandom(4)
        assert len(data) < 126
        body = bytes(b ^ mask[i % 4] for i, b in enumerate(data))
        self.sock.sendall(bytes([0x81, 0x80 | len(data)]) + mask + body)

    def _need(self, n: int) -> None:
        while len(self.buf) < n:
            chunk = self.sock.recv(1 << 16)
            if not chunk:
                raise ConnectionError("closed")
            self.buf += chunk

    def message(self) -> str:
        """The next whole text message (unmasked server frames, no fragmentation)."""
        self._need(2)
        n, pos = self.buf[1] & 0x7F, 2
        if n == 126:
            self._need(4)
            n, pos = int.from_bytes(self.buf[2:4], "big"), 4
        elif n == 127:
            self._need(10)
            n, pos = int.from_bytes(self.buf[2:10], "big"), 10
        self._need(pos + n)
        payload, self.buf = self.buf[pos:pos + n], self.buf[pos + n:]
        return payload.decode()

    def read_events(self, count: int, timeout: float = 20) -> list[tuple[str, Any]]:
        """Read until `count` Socket.IO events arrived (pings are answered)."""
        self.sock.settimeout(timeout)
        while len(self.events) < count:
            msg = self.message()
            if msg == "2":
                self.send("3")
            elif msg.startswith("42"):
                name, data = json.loads(msg[2:])
                self.events.append((name, data))
        return self.events

    def close(self) -> None:
        self.sock.close()


def wait_for(predicate: Any, timeout: float = 10) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        assert time.monotonic() < deadline, "timed out"
        time.sleep(0.02)


def test_a_websocket_board_is_written_to_directly_and_gets_every_call(served, api):
    url, rt = served
    client = socketio.Client(reconnection=False)
    got: list[dict[str, Any]] = []
    client.on("ticket.called", got.append)
    client.connect(url, auth={"channel": "board"}, transports=["websocket"], wait_timeout=10)
    try:
        wait_for(lambda: STREAM in rt.socketio.server.manager.rooms.get("/", {}))
        api["o1"].post("/counters/1/open")
        labels = []
        for _ in range(5):
            api["kiosk"].post("/tickets", json={"service": "civil-status"})
            labels.append(api["o1"].post("/counters/1/call-next").json["label"])
            assert api["o1"].post("/counters/1/start").status_code == 200
            assert api["o1"].post("/counters/1/complete", json={"outcome": "done"}
                                  ).status_code == 200
        wait_for(lambda: len(got) == 5)
        assert [e["ticket"]["label"] for e in got] == labels
        assert [e["seq"] for e in got] == sorted(e["seq"] for e in got)
        assert list(directs(rt).values()) == ["direct"]
    finally:
        client.disconnect()


def test_a_board_that_stops_reading_is_queued_and_holds_nobody_up(served):
    url, rt = served
    slow = RawBoard(url, rcvbuf=4096)  # reads nothing until the end
    fast = RawBoard(url)
    try:
        fast.read_events(1)  # its snapshot: both sockets are in the board room now
        wait_for(lambda: len(rt.socketio.server.manager.rooms["/"].get(STREAM, {})) == 2)
        pad = "x" * 60_000
        n = 120  # about 7 MB: more than the slow socket's buffers hold
        reader = threading.Thread(target=fast.read_events, args=(1 + n,))
        reader.start()
        # the slow board never reads while this runs: were its sends blocking, this would hang
        for i in range(n):
            rt.emit_rooms([(STREAM, "test.pad", {"i": i, "pad": pad})])
        reader.join(60)
        events = fast.events[1:]
        assert [d["i"] for _name, d in events] == list(range(n))
        assert "queued" in directs(rt).values()  # the slow one went back to its writer thread
        # the slow board, once it reads, still gets every event, in order, none twice
        late = slow.read_events(1 + n, timeout=60)[1:]
        assert [d["i"] for _name, d in late] == list(range(n))
    finally:
        slow.close()
        fast.close()


@pytest.mark.parametrize("n", [0, 125, 126, 65535, 65536, 70000])
def test_text_frames_carry_their_length_as_rfc_6455_says(n):
    from layso.fanout import text_frame

    frame = text_frame("é" * (n // 2) + "a" * (n % 2))  # two bytes per é
    assert frame[0] == 0x81  # FIN, text
    size, start = frame[1], 2
    if size == 126:
        size, start = int.from_bytes(frame[2:4], "big"), 4
    elif size == 127:
        size, start = int.from_bytes(frame[2:10], "big"), 10
    assert size == n == len(frame) - start
    assert (size < 126) == (start == 2) and (126 <= size < 65536) == (start == 4)
